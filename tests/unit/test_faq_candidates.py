"""Candidate FAQ entries: the grouping rule on hand-made vectors, and the whole candidate list
with the real e5 model and knowledge base — paraphrases grouped, unrelated questions apart,
sizes and sources counted, and the nearest existing entry shown with whether it covers them."""
from pathlib import Path

import numpy as np
import pytest

from common.config import settings
from knowledge.base import KnowledgeBase
from knowledge.candidates import QueryVectors, Question, SAME_QUESTION, candidates, group
from tests.conftest import need_env


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_question_joins_a_group_only_when_close_to_every_member():
    a, b = unit(1, 0, 0), unit(0.95, 0.31, 0)              # a~b 0.95
    c = unit(0.81, 0.59, 0)                                 # b~c 0.95, a~c 0.81
    groups = group(np.stack([a, b, c]), [3, 2, 1], threshold=0.9)
    assert sorted(map(sorted, groups)) == [[0, 1], [2]]     # c is near b but not near a


def test_the_most_asked_question_anchors_its_group():
    a, b, c = unit(1, 0, 0), unit(0.95, 0.31, 0), unit(0.81, 0.59, 0)
    groups = group(np.stack([a, b, c]), [1, 1, 5], threshold=0.9)
    assert sorted(map(sorted, groups)) == [[0], [1, 2]]      # c first, b joins it, a cannot


@pytest.fixture(scope="module")
def kb():
    return KnowledgeBase.load(Path(need_env("HALL_E5_MODEL")), settings().cache_dir)


def test_unanswered_paraphrases_become_one_new_candidate(kb):
    kite = ["莲花山公园可以放风筝吗", "莲花山公园能放风筝吗", "在莲花山公园放风筝可以吗"]
    bbq = ["深圳湾公园可以烧烤吗", "深圳湾公园能不能烧烤"]
    asked = ([Question(t, "unanswered", "rest", 100.0 + n) for n, t in enumerate(kite)]
             + [Question(kite[0], "unanswered", "wechat", 200.0)]                 # asked twice
             + [Question(t, "unanswered", "rest", 50.0) for t in bbq]
             + [Question("给我讲个笑话呗", "unanswered", "rest", 10.0), Question("？？？", "unanswered", "rest", 11.0)]
             + [Question("居住证到期了怎么签注", "consultation", "web", 300.0),
                Question("居住证到期后怎么办理签注", "consultation", "web", 301.0)])
    found = candidates(asked, kb, QueryVectors(kb.retriever.encoder), min_size=2)
    by_rep = {c["representative"]: c for c in found}
    assert [c["size"] for c in found] == [4, 2, 2]
    first = found[0]
    assert first["representative"] in kite and sorted(first["examples"]) == sorted(kite)
    assert (first["unanswered"], first["consultations"]) == (4, 0) and first["channels"] == ["rest", "wechat"]
    assert first["last_at"] == 200.0 and not first["nearest"]["covered"]
    assert first["nearest"]["score"] < SAME_QUESTION
    assert any(rep in bbq for rep in by_rep)
    permit = next(c for c in found if c["consultations"])
    assert permit["consultations"] == 2 and permit["nearest"]["covered"]
    assert permit["nearest"]["code"] == "440300-001-QR-0001" and permit["nearest"]["item_name"].startswith("深圳市居住证")
    assert all("笑话" not in c["representative"] for c in found)          # a single question is no candidate
    assert candidates(asked, kb, QueryVectors(kb.retriever.encoder), min_size=5) == []


def test_query_vectors_are_remembered_and_bounded(kb):
    vectors = QueryVectors(kb.retriever.encoder, keep=2)
    first = vectors(["居住证怎么办", "护照怎么办"])
    assert np.allclose(vectors(["居住证怎么办"])[0], first[0])
    vectors(["社保怎么交"])
    assert len(vectors._cache) == 2 and "护照怎么办" not in vectors._cache
