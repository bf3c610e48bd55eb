from common.identity import (CASE_RE, id_check_char, mask_id, mask_phone, mask_text, valid_id_number,
                                valid_phone)


def test_id_number_checksum():
    assert id_check_char("11010519491231002") == "X"        # the GB 11643 example
    assert valid_id_number("11010519491231002X")
    assert valid_id_number("11010519491231002x")
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("11010519491231002")


def test_phone_and_case_number_formats():
    assert valid_phone("13800138000") and not valid_phone("12800138000") and not valid_phone("1380013800")
    assert CASE_RE.search("查一下QR00120261102000101的进度").group() == "QR00120261102000101"
    assert CASE_RE.search("QR0012026110200010") is None


def test_masking_hides_the_middle():
    assert mask_id("11010519491231002X") == "110105********002X"
    assert mask_phone("13800138000") == "138****8000"
    masked = mask_text("我的身份证11010519491231002X，电话13800138000")
    assert "11010519491231002X" not in masked and "13800138000" not in masked


def test_masking_sees_mobile_numbers_with_the_country_code():
    for raw in ("+8613800138000", "008613800138000", "8613800138000", "+86 13800138000"):
        masked = mask_text(f"来电{raw}")
        assert "13800138000" not in masked and "138****8000" in masked, masked
