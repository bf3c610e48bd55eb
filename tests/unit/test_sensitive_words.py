"""The sensitive-word matcher (standard 8.1.2): Aho-Corasick over the word list, through the
disguises citizens and spammers use, reporting the original spans; and no false alarm on
anything the assistant itself says from the catalog, the FAQ base or the dialogue domain."""
from pathlib import Path

import pytest
import yaml

from actions import render
from common.sensitive import SensitiveWords, default, normalise, summary
from knowledge.catalog import load_catalog
from knowledge.faq import load_faq

ROOT = Path(__file__).resolve().parents[2]


def found(text: str) -> list[tuple[str, str, str]]:
    return [(m.word, m.category, m.found_in(text)) for m in default().find(text)]


def test_the_default_list_has_the_four_categories():
    assert default().categories == ["广告", "诈骗", "辱骂", "违法"]


@pytest.mark.parametrize("text, word, span", [
    ("刷单返利，日赚三百", "刷单返利", "刷单返利"),
    ("刷 单 返 利", "刷单返利", "刷 单 返 利"),                     # spaces between characters
    ("刷*单-返_利", "刷单返利", "刷*单-返_利"),                     # symbols between characters
    ("刷單返利", "刷单返利", "刷單返利"),                            # traditional characters
    ("辦證刻章 電話聯繫", "办证刻章", "辦證刻章"),
    ("代開各類發票", "代开各类发票", "代開各類發票"),
    ("你这个傻Ｘ", "傻X", "傻Ｘ"),                                   # full-width letter
    ("你这个傻x", "傻X", "傻x"),                                     # case
    ("ｘｘ网贷秒批ｘｘ", "网贷秒批", "网贷秒批"),
])
def test_disguised_words_are_found_with_their_original_span(text, word, span):
    assert [(w, s) for w, _, s in found(text)] == [(word, span)]


def test_sentence_punctuation_separates_phrases():
    assert found("先去办证。刻章另约时间") == []
    assert found("办证，刻章") == []


def test_overlapping_and_repeated_words_are_all_reported_in_order():
    text = "扫码领红包 然后刷单返利，再刷单返利"
    assert [(w, c) for w, c, _ in found(text)] == [("扫码领红包", "广告"), ("刷单返利", "诈骗"), ("刷单返利", "诈骗")]
    assert summary(default().find(text)) == "广告：扫码领红包；诈骗：刷单返利"


def test_automaton_finds_words_inside_words_and_sharing_prefixes():
    words = SensitiveWords({"he": "a", "she": "b", "his": "c", "hers": "d"})
    assert sorted((m.word, m.start) for m in words.find("ushers")) == [("he", 2), ("hers", 2), ("she", 1)]
    assert [m.word for m in words.find("hishe")] == ["his", "she", "he"]


def test_normalise_keeps_the_origin_of_every_character():
    text, origin = normalise("Ａ ｂ，刷")
    assert text == "ab|刷" and origin == [0, 2, 3, 4]


def test_the_word_list_file_rejects_words_outside_a_category(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("刷单返利\n", encoding="utf-8")
    with pytest.raises(ValueError, match="category"):
        SensitiveWords.load(path)
    path.write_text("[诈骗]\n# a comment\n刷单返利  # trailing comment\n", encoding="utf-8")
    assert [m.word for m in SensitiveWords.load(path).find("刷单返利")] == ["刷单返利"]


def test_nothing_the_assistant_says_from_its_own_knowledge_is_flagged():
    catalog = load_catalog()
    texts = []
    for item in catalog.items.values():
        texts += [render.guide(item), *(render.guide(item, a) for a in render.ASPECTS)]
        texts += [t for q in item.faq for t in (q["q"], q["a"])]
    for entry in load_faq(known_codes=set(catalog.items)).values():
        texts += [render.faq_answer(entry, catalog.get(entry.item_code)), *entry.questions]
    domain = yaml.safe_load((ROOT / "nlu" / "domain.yml").read_text(encoding="utf-8"))
    texts += [r.get("text", "") for responses in (domain.get("responses") or {}).values() for r in responses]
    texts.append(str(catalog.hall))
    assert len(texts) > 2000
    flagged = {t[:60]: summary(default().find(t)) for t in texts if default().find(t)}
    assert flagged == {}
