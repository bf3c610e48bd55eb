"""The catalog classifications of standard SZDB/Z 179-2016, 9.1.3 (values are quoted from it)."""

PERSONAL_TOPICS = (
    "兵役 出入境 户籍 婚姻 教育 交通 就业 民族宗教 纳税 社保 司法公证 社会救助 死亡殡葬 "
    "生育收养 文化体育 消费维权 医疗 住房 知识产权 职业资格 其他"
).split()
PERSONAL_LIFE_EVENTS = "升学 找工作 失业 创业 迁居 买房子 结婚 生小孩 退休 殡葬 其他".split()
PERSONAL_SPECIAL_GROUPS = (
    "残疾人 儿童青少年 妇女 港澳台侨 高校毕业生 老年人 农民 人才 特困家庭 外国人 其他"
).split()
ENTERPRISE_TOPICS = (
    "安全防护 财务税务 对外交流 环保绿化 金融投资 建设管理 交通运输 劳动保障 立项审批 年检年审 "
    "农林牧渔 破产注销 人力资源 司法公证 设立变更 水利水务 土地房产 文物保护 新闻广电 医疗卫生 "
    "质量检查 知识产权 准营准办 资质认证 其他"
).split()
ENTERPRISE_BUSINESS_ACTIVITIES = (
    "办理社保 开办企业 扩大生产 纳税缴费 申请贷款 申请破产 申请专利 申请资质 投资立项 引进人才 其他"
).split()
ENTERPRISE_SPECIAL_TYPES = (
    "个体工商户 高新技术企业 困难企业 民营企业 社会组织 私营企业 重点企业 中小企业 其他"
).split()

# (audience, facet) -> allowed values, and the Chinese label each facet is shown under.
FACETS = {
    ("personal", "topics"): PERSONAL_TOPICS,
    ("personal", "life_events"): PERSONAL_LIFE_EVENTS,
    ("personal", "special_groups"): PERSONAL_SPECIAL_GROUPS,
    ("enterprise", "topics"): ENTERPRISE_TOPICS,
    ("enterprise", "business_activities"): ENTERPRISE_BUSINESS_ACTIVITIES,
    ("enterprise", "special_types"): ENTERPRISE_SPECIAL_TYPES,
}
FACET_LABELS = {
    ("personal", "topics"): "个人办事·按主题",
    ("personal", "life_events"): "个人办事·按人生事件",
    ("personal", "special_groups"): "个人办事·按特定对象",
    ("enterprise", "topics"): "企业办事·按主题",
    ("enterprise", "business_activities"): "企业办事·按经营活动",
    ("enterprise", "special_types"): "企业办事·按特定对象",
}
AUDIENCE_LABELS = {"personal": "个人办事", "enterprise": "企业办事"}
