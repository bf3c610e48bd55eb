"""The SMS channel's pure parts: phone numbers as user ids, MO decoding, replies rendered for a
phone (plain text, numbered options, pages within the segment cap), carrier templates, and the
generated kannel.conf."""
from __future__ import annotations

from pathlib import Path

import pytest

from channels import menus, sms_render
from channels.kannel_config import render as kannel_conf
from channels.phone import BadPhoneNumber, mask, normalize_phone
from channels.sms import decode_text
from channels.sms_settings import SmsSettings
from channels.sms_templates import SmsTemplates, TemplateError
from common.config import Settings
from common.reply import Reply


@pytest.mark.parametrize("raw", ["13812345678", "8613812345678", "+8613812345678", "008613812345678",
                                 "+86 138-1234-5678", "+13812345678"])
def test_every_form_of_a_mobile_number_is_one_user(raw):
    assert normalize_phone(raw) == "13812345678"


def test_other_numbers_keep_their_digits_and_garbage_is_refused():
    assert normalize_phone("+85291234567") == "85291234567"
    assert normalize_phone("10086") == "10086"
    for bad in ("", "abc", "+86", "1381234567８", "1" * 21):
        with pytest.raises(BadPhoneNumber):
            normalize_phone(bad)


def test_masks_for_logs():
    assert mask("13812345678") == "138****5678"
    assert mask("+8613812345678") == "**********5678"


@pytest.mark.parametrize("raw, coding, charset", [
    ("居住证怎么办".encode("utf-16-be"), "2", "UTF-16BE"),
    ("居住证怎么办".encode("utf-16-be"), "2", ""),
    ("居住证怎么办".encode("utf-8"), "0", "UTF-8"),
    ("居住证怎么办".encode("gb18030"), "1", "GB18030"),
    ("居住证怎么办".encode("gb18030"), "0", "GB2312"),
    ("居住证怎么办".encode("gb18030"), "1", "8-BIT"),   # 8-bit data, not UTF-8: GB18030
    ("居住证怎么办".encode("utf-8"), "1", ""),
])
def test_mo_text_decoded_by_coding_and_charset(raw, coding, charset):
    assert decode_text(raw, coding, charset) == "居住证怎么办"


def test_gb18030_beyond_gbk_decodes():
    text = "𠀀䶮办证"   # a CJK Extension B character and one GBK lacks
    assert decode_text(text.encode("gb18030"), "0", "GB18030") == text


def test_undecodable_mo_is_a_value_error():
    with pytest.raises(ValueError):
        decode_text(b"\xff\xfe\xfd", "0", "UTF-8")
    with pytest.raises(ValueError):
        decode_text(b"abc", "0", "no-such-charset")


def test_segments_count_ucs2_units():
    assert sms_render.segments("汉" * 70) == 1
    assert sms_render.segments("汉" * 71) == 2
    assert sms_render.segments("汉" * 201) == 3
    assert sms_render.segments("汉" * 202) == 4
    assert sms_render.units("𠀀") == 2


def test_markdown_and_html_become_plain_text_but_masked_numbers_stay():
    text = "## 办理须知\n\n**所需材料**：见[办事指南](https://example.gov.cn/a)<br>- 身份证\n电话 138****5678、139****1234"
    assert sms_render.plain(text) == "办理须知\n所需材料：见办事指南\n· 身份证\n电话 138****5678、139****1234"
    assert sms_render.plain("官网 https://www.gdzwfw.gov.cn") == "官网 https://www.gdzwfw.gov.cn"


def test_buttons_become_options_numbered_as_menus_resolves_them():
    replies = [Reply("请选择：", [{"title": "所需材料", "payload": "/a"}, {"title": "办理地点", "payload": "/b"}]),
               Reply("", [{"title": "**预约**办理", "payload": "/c"}])]
    assert sms_render.pages(replies, 3) == ["请选择：\n回复1：所需材料\n回复2：办理地点\n回复3：预约办理"]
    assert [b["payload"] for b in menus.options(replies)] == ["/a", "/b", "/c"]


def test_long_answer_splits_into_pages_with_the_options_first():
    body = "\n".join(f"第{i}条：" + "材料说明" * 10 for i in range(1, 13))
    replies = [Reply(body, [{"title": "所需材料", "payload": "/a"}, {"title": "预约办理", "payload": "/b"}])]
    pages = sms_render.pages(replies, 3)
    assert len(pages) > 2
    assert all(sms_render.segments(p) <= 3 for p in pages)
    assert pages[0].endswith("回复1：所需材料\n回复2：预约办理\n" + sms_render.MORE)
    assert all(p.endswith(sms_render.MORE) for p in pages[:-1]) and not pages[-1].endswith(sms_render.MORE)
    # Nothing lost, nothing doubled: the pages hold the body line by line.
    rebuilt = [line for p in pages for line in p.split("\n") if not line.startswith("回复")]
    assert rebuilt == body.split("\n")


def test_a_line_longer_than_a_page_is_cut_and_continued():
    body = "长" * 500
    pages = sms_render.pages([Reply(body)], 3)
    assert "".join(p.removesuffix("\n" + sms_render.MORE) for p in pages) == body
    assert all(sms_render.segments(p) <= 3 for p in pages)


def test_cuts_never_split_a_surrogate_pair():
    body = "𠀀" * 300
    pages = sms_render.pages([Reply(body)], 1)
    assert "".join(p.removesuffix("\n" + sms_render.MORE) for p in pages) == body
    assert all(sms_render.units(p) <= sms_render.SINGLE_SEGMENT_UNITS for p in pages)


def test_templates_render_only_with_every_variable():
    templates = SmsTemplates.load()
    text = templates.render("appointment_rescheduled", {"number": "YY1", "date": "2026-12-01", "start": "09:30",
                                                        "extra": "ignored"})
    assert text == "【深圳政务服务】您的预约YY1已改为2026-12-01 09:30，请按新时间携带材料到达。"
    with pytest.raises(TemplateError, match="unknown template 'nope'"):
        templates.render("nope", {})
    with pytest.raises(TemplateError, match="lacks date, start"):
        templates.render("appointment_rescheduled", {"number": "YY1"})
    with pytest.raises(TemplateError, match="lacks text"):
        templates.render("reminder", {"text": "  "})


def test_a_variable_cannot_reshape_the_template():
    text = SmsTemplates.load().render("reminder", {"text": "明天{number}\n办理"})
    assert text == "【深圳政务服务】办事提醒：明天{number} 办理"


def test_template_placeholders_must_be_plain_names():
    with pytest.raises(ValueError):
        SmsTemplates({"bad": "【x】{name.__class__}"})


def test_kannel_conf_wires_the_gateway_and_hides_numbers(tmp_path: Path):
    app = Settings(gateway_port=18080, var_dir=tmp_path)
    sms = SmsSettings(inbound_secret="s3cret-s3cret-s3cret", sendsms_password="pw-1", smsc_port=2999)
    conf = kannel_conf(app, sms)
    assert 'get-url = "http://127.0.0.1:18080/channels/sms?secret=s3cret-s3cret-s3cret&from=%p' in conf
    assert "text=%b&coding=%c&charset=%C" in conf
    assert 'password = "pw-1"' in conf and "port = 2999" in conf
    assert "concatenation = true" in conf and "max-messages = 0" in conf
    assert "alt-charset = \"GB18030\"" in conf
    assert "%p" not in conf.split("access-log-format")[1].split("\n")[0]   # no number in the access log
    assert conf.count("log-level = 2") == 3


def test_kannel_conf_refuses_values_it_cannot_hold(tmp_path: Path):
    app = Settings(var_dir=tmp_path)
    with pytest.raises(ValueError):
        kannel_conf(app, SmsSettings(sendsms_password='pw"x'))
    with pytest.raises(ValueError):
        kannel_conf(app, SmsSettings(inbound_secret="short&odd%2"))
