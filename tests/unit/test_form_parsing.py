"""Reading form fields out of what citizens type."""
from actions.parsing import find_complaint_type, find_name, find_phone, find_time, is_unknown


def test_phone_numbers_with_spaces_dashes_and_full_width_are_found():
    assert find_phone("电话 138 0013 8000") == "13800138000"
    assert find_phone("手机：139-1234-5678，谢谢") == "13912345678"
    assert find_phone("1234") is None and find_phone("12800138000") is None


def test_names_from_a_sentence_or_a_bare_answer():
    assert find_name("我叫王芳，电话13912345678", asked=False) == "王芳"
    assert find_name("姓名：李明", asked=False) == "李明"
    assert find_name("张伟", asked=True) == "张伟"
    assert find_name("张伟", asked=False) is None          # a bare word is a name only when asked
    assert find_name("窗口叫我明天再来", asked=False) is None
    assert find_name("13800138000", asked=True) is None


def test_times():
    assert find_time("09:00") == "09:00"
    assert find_time("下午两点") == "14:00" and find_time("十点半") == "10:30"
    assert find_time("下午2点半") == "14:30" and find_time("上午10点") == "10:00"


def test_complaint_types_and_unknown_answers():
    assert find_complaint_type("窗口工作人员态度很差") == "服务态度"
    assert find_complaint_type("拖了一个多月没结果") == "办理超时"
    assert find_complaint_type("收了我两百块") is None
    assert find_complaint_type("窗口乱收费") == "乱收费"
    assert find_complaint_type("其他") == "其他"
    assert is_unknown("不知道") and not is_unknown("不知道他叫什么但是他是三号窗口的那个男的")
