"""ASR repair by pinyin: recogniser errors are fixed (or guessed and confirmed), correct words
are left alone."""
from __future__ import annotations

import pytest
import yaml

from channels.asr_repair import AsrRepairer, split_syllable, syllable_similarity
from common.text import normalize
from knowledge.catalog import load_catalog
from tests.conftest import DATA, ROOT

HELD_OUT = [DATA / "service_questions.yml", DATA / "hall_questions.yml", DATA / "fallback_questions.yml",
            ROOT / "knowledge" / "eval" / "retrieval.yml", ROOT.parent / "shared" / "eval" / "dev.yml"]


@pytest.fixture(scope="module")
def repairer() -> AsrRepairer:
    return AsrRepairer.from_catalog(load_catalog())


def test_syllables_compare_by_initial_and_final():
    assert split_syllable("zhuang") == ("zh", "uang") and split_syllable("er") == ("", "er")
    assert syllable_similarity("jian", "jian") == 1.0
    assert syllable_similarity("zhi", "zi") > syllable_similarity("zhi", "ji") > syllable_similarity("zhi", "bao")
    assert syllable_similarity("jin", "jing") > syllable_similarity("jin", "jian")


def test_misheard_progress_is_a_guess_to_confirm(repairer):
    repair = repairer.repair("我想查半天坚度")
    assert repair.text == "我想查办件进度"
    assert repair.needs_confirmation
    assert repair.question() == "您是想查询办件进度吗？"


@pytest.mark.parametrize("heard, meant", [
    ("局住证怎么办", "居住证怎么办"),
    ("转人公", "转人工"),
    ("我要头诉", "我要投诉"),
    ("公鸡金提取要什么材料", "公积金提取要什么材料"),
    ("结婚登己要预约吗", "结婚登记要预约吗"),
    ("鱼约办理", "预约办理"),
    ("查询伴见进度", "查询办件进度"),
])
def test_homophones_are_repaired_outright(repairer, heard, meant):
    repair = repairer.repair(heard)
    assert repair.text == meant and repair.changed and not repair.needs_confirmation


def test_close_service_names_are_guessed(repairer):
    repair = repairer.repair("护造过期了怎么办")
    assert repair.text == "护照过期了怎么办" and repair.needs_confirmation
    assert repair.question() == "您是想咨询护照过期吗？"


@pytest.mark.parametrize("said", ["我要去法院", "我觉得不公正", "这几年间的社保", "我想办理驾驶证", "你好"])
def test_everyday_words_are_left_alone(repairer, said):
    repair = repairer.repair(said)
    assert repair.text == said and not repair.fixes


def test_held_out_questions_need_no_confirmation(repairer):
    """Typed questions carry no recogniser errors: repair may only fix true typos
    (身分证 → 身份证, homophones) and must never ask the caller to confirm a guess."""
    questions = [q["q"] for path in HELD_OUT if path.exists()
                 for q in yaml.safe_load(path.read_text(encoding="utf-8")) if isinstance(q, dict) and "q" in q]
    assert len(questions) >= 250
    guessed, fixed = [], []
    for q in questions:
        repair = repairer.repair(normalize(q, lower=False))
        if repair.needs_confirmation:
            guessed.append((q, repair.text))
        elif repair.changed:
            fixed.append((q, repair.text))
    print(f"\nASR repair on {len(questions)} typed questions: {len(fixed)} homophone fixes, {len(guessed)} guesses")
    for q, text in fixed:
        print(f"  {q!r} -> {text!r}")
    assert guessed == []
    assert len(fixed) <= len(questions) * 0.05


def test_non_chinese_text_passes_through(repairer):
    repair = repairer.repair("QR00120261102000101")
    assert repair.text == "QR00120261102000101" and not repair.fixes
