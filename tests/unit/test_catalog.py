"""The catalog and FAQ data: schema, coverage required by the project, and cross-references."""
from knowledge import export_lookups
from knowledge.catalog import load_catalog
from knowledge.classification import FACETS
from knowledge.faq import load_faq

CATALOG = load_catalog()
FAQ = load_faq(known_codes=set(CATALOG.items))

# Services the assistant must know (issue "walking skeleton"); each word must name an item.
REQUIRED_COVERAGE = [
    "居住证", "人才引进", "新生儿", "身份证", "港澳", "护照", "结婚", "离婚", "生育登记", "生育津贴", "社会保障卡",
    "养老", "医疗保险", "失业登记", "失业保险金", "公积金提取", "公积金", "积分入学", "驾驶证", "检验", "不动产",
    "个人所得税", "残疾人证", "高龄", "火化", "兵役", "公证", "法律援助", "职业技能", "公共租赁住房", "无犯罪",
    "公司设立", "个体工商户", "公司变更", "公司注销", "营业执照", "纳税人", "发票", "食品经营", "单位社会保险",
    "施工许可", "商标", "专利",
]


def test_catalog_has_enough_items_of_both_audiences():
    assert len(CATALOG.items) >= 40
    audiences = {i.audience for i in CATALOG.items.values()}
    assert audiences == {"personal", "enterprise"}


def test_every_required_service_is_in_the_catalog():
    names = [" ".join((i.name, *i.aliases)) for i in CATALOG.items.values()]
    missing = [w for w in REQUIRED_COVERAGE if not any(w in n for n in names)]
    assert not missing, f"catalog lacks: {missing}"


def test_every_item_has_a_complete_guide():
    for item in CATALOG.items.values():
        assert len(item.materials) >= 2 and len(item.process) >= 3, item.code
        assert item.promised_time_limit and item.legal_time_limit and item.hotline, item.code
        assert len(item.aliases) >= 3, item.code


def test_classification_values_come_from_the_standard():
    for item in CATALOG.items.values():
        for facet, values in item.classification.items():
            assert not values or set(values) <= set(FACETS[(item.audience, facet)]), (item.code, facet)
    # Every life event a citizen would browse by has at least one item.
    for event in ("生小孩", "结婚", "退休", "失业", "迁居", "买房子", "殡葬", "升学"):
        assert CATALOG.in_facet("personal", "life_events", event), event
    assert CATALOG.in_facet("enterprise", "business_activities", "开办企业")


def test_pre_and_post_items_point_both_ways_sensibly():
    for item in CATALOG.items.values():
        assert item.code not in item.pre_items + item.post_items, item.code


def test_hall_information_is_complete():
    hall = CATALOG.hall
    assert hall["hotline"] == "12345"
    assert len(hall["branches"]) >= 5
    for branch in hall["branches"]:
        for key in ("name", "district", "address", "hours", "transport"):
            assert branch.get(key), (branch.get("name"), key)


def test_faq_size_and_links():
    assert len(FAQ) >= 300
    linked = {e.item_code for e in FAQ.values() if e.item_code}
    assert linked == set(CATALOG.items), f"items without FAQ: {set(CATALOG.items) - linked}"
    assert sum(1 for e in FAQ.values() if not e.item_code) >= 25   # hall and general questions


def test_nlu_lookup_tables_are_generated_from_the_current_catalog():
    for name, text in export_lookups.render().items():
        path = export_lookups.OUT / name
        assert path.exists() and path.read_text(encoding="utf-8") == text, \
            f"{path} is stale: run `python -m knowledge.export_lookups`"
