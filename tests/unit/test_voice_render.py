"""Voice rendering: what the hotline's TTS is given must be sayable as a hotline agent says it."""
from __future__ import annotations

import re

from actions import render
from channels.voice_render import MAX_OPTIONS, cardinal, menu, parts, sentences, speakable, spell
from knowledge.catalog import load_catalog

SPEAKABLE = re.compile(r"^[\u4e00-\u9fffA-Za-z ，。！？；：、]*$")


def test_quantities_read_as_numbers():
    assert [cardinal(n) for n in (0, 7, 10, 12, 20, 101, 110, 1010, 2000, 10001, 20000, 123456)] == [
        "零", "七", "十", "十二", "二十", "一百零一", "一百一十", "一千零一十", "两千", "一万零一", "两万", "十二万三千四百五十六"]
    assert speakable("承诺10个工作日（法定15日）") == "承诺十个工作日，法定十五日。"
    assert speakable("原件2份，复印件1份") == "原件两份，复印件一份。"
    assert speakable("工本费每证20元，补贴10000元") == "工本费每证二十元，补贴一万元。"
    assert speakable("3-5个工作日") == "三到五个工作日。"
    assert speakable("缴费比例0.5%") == "缴费比例百分之零点五。"


def test_codes_and_phone_numbers_read_digit_by_digit():
    assert spell("12345") == "幺二三四五"
    assert speakable("监督投诉电话：12345") == "监督投诉电话：幺二三四五。"
    assert speakable("咨询电话：0755-84465000") == "咨询电话：零七五五，八四四六，五零零零。"
    assert speakable("手机13912345678") == "手机幺三九，幺二三四，五六七八。"
    assert speakable("事项编码 440300-001-QR-0001") == "事项编码四四零三零零，零零幺，Q R，零零零幺。"
    assert speakable("受理编号 QR00120261102000101") == "受理编号Q R，零零幺，二零二六幺幺零二，零零零幺零幺。"
    assert speakable("编号TS20261127000123") == "编号T S，二零二六，幺幺二七，零零零幺二三。"
    assert speakable("文锦中路1008号") == "文锦中路幺零零八号。"


def test_dates_and_times_read_naturally():
    assert speakable("2026年11月27日") == "二零二六年十一月二十七日。"
    assert speakable("申请时间：2026-11-02 12:40") == "申请时间：二零二六年十一月二日十二点四十分。"
    assert speakable("周一至周五 9:00-12:00，14:00-18:30") == "周一至周五九点到十二点，十四点到十八点三十分。"
    assert speakable("计价格〔2004〕2831号") == "计价格二零零四，二八三幺号。"


def test_masked_identifiers_read_as_their_tail():
    assert speakable("手机号 139****5678") == "手机号尾号五六七八。"
    assert speakable("身份证 440304********2812") == "身份证尾号二八幺二。"
    assert speakable("申请人：陈**") == "申请人：陈某。"


def test_urls_symbols_and_lists_are_stripped_or_spoken():
    assert speakable("表格下载：\n· 申请表：https://www.sz.gov.cn/a.docx?x=1，或到窗口领取") == "表格下载。申请表：或到窗口领取。"
    assert speakable("【深圳市居住证申领（含签注）】") == "深圳市居住证申领，含签注。"
    assert speakable("所需材料：\n1. 居民身份证\n2. 户口簿") == "所需材料。第一，居民身份证。第二，户口簿。"
    assert speakable("①查询办事指南；②预约办理") == "第一，查询办事指南；第二，预约办理。"
    assert speakable("《条例》第十条 & 原件/复印件 #*") == "条例第十条和原件或复印件。"
    assert speakable("") == "" and speakable("#*~") == ""


def test_every_catalog_answer_renders_to_speakable_text():
    """Every 办事指南 answer the assistant can give, rendered: nothing a TTS engine cannot say,
    no digit left for it to misread, and the service name survives."""
    for item in load_catalog().items.values():
        for aspect in (None, *render.ASPECTS):
            spoken = speakable(render.guide(item, aspect))
            assert SPEAKABLE.match(spoken), (item.code, aspect, spoken)
            assert not re.search(r"\d", spoken)
            assert speakable(item.name).rstrip("。").split("，")[0] in spoken


def test_long_answers_come_in_short_parts():
    item = load_catalog().get("440300-001-QR-0001")
    spoken = speakable(render.guide(item))
    for limit in (60, 90, 120):
        pieces = parts(spoken, limit)
        assert len(pieces) > 3 and "".join(pieces) == spoken
        assert all(len(p) <= limit for p in pieces)
        assert all(p[-1] in "。！？；，、：" for p in pieces)
        # Most parts end between sentences; short parts are only the last.
        assert sum(p[-1] in "。！？；" for p in pieces) >= len(pieces) * 0.7
        assert all(len(p) >= limit // 3 for p in pieces[:-1])
    assert parts("", 90) == []
    assert sentences("您好！请问您要办什么事？好的") == ["您好！", "请问您要办什么事？", "好的。"]


def test_menu_numbers_the_buttons_and_offers_staff():
    assert menu(["所需材料", "办理流程"]) == "按一，所需材料；按二，办理流程；人工服务请按零。"
    assert menu([]) == "人工服务请按零。"
    many = menu([f"选项{n}" for n in range(1, 12)])
    assert "按八，选项八" in many and "按九" not in many and len(re.findall("按", many)) == MAX_OPTIONS + 1
