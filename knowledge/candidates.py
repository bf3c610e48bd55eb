"""Candidate FAQ entries for information publishers (standard 9.3.1.4): questions the
assistant could not answer and the hall's frequent consultations, grouped by meaning with the
retriever's own e5 encoder, biggest groups first.

Grouping is greedy complete-link on cosine similarity (questions asked most often first). Each
candidate shows its representative question (the member nearest the group's centroid), its
size, examples, and the nearest existing FAQ entry or item, so a publisher sees whether it is
new or an existing entry is missing a phrasing."""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from common.text import normalize
from knowledge.base import UNSURE

# Two questions at least this similar (e5 cosine, query to query) can share a candidate.
# Measured by `python -m knowledge.candidates` (see README "Knowledge upkeep"): grouping the
# FAQ base's and knowledge/eval's questions by catalog item, 0.90 keeps pairwise precision at
# 0.88 (recall 0.22); 0.88 drops it to 0.82; 0.92 gains 0.01 for half the recall.
SAME_QUESTION = 0.90
MAX_EXAMPLES = 5
MIN_WORD_CHARS = 2
MAX_TEXT_CHARS = 200


@dataclass
class Question:
    text: str
    source: str                 # "unanswered" or "consultation"
    channel: str = ""
    at: float = 0.0


def group(vectors: np.ndarray, weights: list[int], threshold: float = SAME_QUESTION) -> list[list[int]]:
    """Indices of `vectors` (unit rows) grouped by meaning, complete-link: a question joins the
    group whose every member is at least `threshold` similar to it (the one it is closest to on
    average), else starts its own. Questions asked most often are placed first, so they anchor
    the groups. A group's centroid is never compared: e5 centroids drift toward the middle of
    the space, where everything looks similar (measured: one group for the whole FAQ base)."""
    order = sorted(range(len(vectors)), key=lambda i: -weights[i])
    placed = np.zeros((len(vectors), vectors.shape[1] if len(vectors) else 1), dtype=np.float32)
    group_of = np.zeros(len(vectors), dtype=int)
    groups: list[list[int]] = []
    for n, i in enumerate(order):
        best = -1
        if n:
            sims = placed[:n] @ vectors[i]
            lowest = np.full(len(groups), np.inf, dtype=np.float32)
            np.minimum.at(lowest, group_of[:n], sims)
            mean = np.bincount(group_of[:n], weights=sims, minlength=len(groups)) / np.bincount(group_of[:n], minlength=len(groups))
            mean[lowest < threshold] = -np.inf
            if np.isfinite(mean.max()):
                best = int(np.argmax(mean))
        if best < 0:
            best = len(groups)
            groups.append([])
        groups[best].append(i)
        placed[n], group_of[n] = vectors[i], best
    return groups


def candidate_id(text: str) -> str:
    return hashlib.sha256(normalize(text).encode()).hexdigest()[:12]


class QueryVectors:
    """e5 query vectors of questions, remembered between runs (the same questions come back:
    measured, 1000 new questions take 10.6 s to encode, the same 1000 again 54 ms in all)."""

    def __init__(self, encoder, keep: int = 20000):
        self.encoder, self.keep = encoder, keep
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()       # two publishers asking at once share one encoding

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if todo:
                for text, vector in zip(todo, self.encoder.queries(todo)):
                    self._cache[text] = vector
            for t in texts:
                self._cache.move_to_end(t)
            vectors = np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 1), dtype=np.float32)
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
            return vectors


def nearest_entry(kb, text: str) -> dict | None:
    """The existing FAQ entry or item closest to a text, with its score on the retriever's scale."""
    hits = kb.search(text, k=1)
    if not hits:
        return None
    hit = hits[0]
    if hit.kind == "faq":
        title = kb.faq[hit.key].question
    else:
        title = kb.item(hit.key).name
    item = kb.item(hit.code)
    return {"kind": hit.kind, "key": hit.key, "code": hit.code, "title": title,
            "item_name": item.name if item else "", "score": round(hit.score, 3), "covered": hit.score >= UNSURE}


def candidates(questions: list[Question], kb, vectors: QueryVectors, min_size: int = 2, limit: int = 50,
               threshold: float = SAME_QUESTION) -> list[dict]:
    """Groups of at least `min_size` questions, biggest first, each with its nearest entry."""
    distinct: OrderedDict[str, list[Question]] = OrderedDict()
    for q in questions:
        text = normalize(q.text, lower=False)[:MAX_TEXT_CHARS]
        if sum(c.isalnum() for c in text) >= MIN_WORD_CHARS:      # "？？？" and "……" say nothing
            distinct.setdefault(text, []).append(q)
    texts = list(distinct)
    if not texts:
        return []
    weights = [len(distinct[t]) for t in texts]
    matrix = vectors(texts)
    out = []
    for members in group(matrix, weights, threshold):
        size = sum(weights[i] for i in members)
        if size < min_size:
            continue
        centroid = matrix[members].T @ np.array([weights[i] for i in members], dtype=np.float32)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-9)
        ranked = sorted(members, key=lambda i: (-float(matrix[i] @ centroid), -weights[i]))
        asked = [q for i in members for q in distinct[texts[i]]]
        representative = texts[ranked[0]]
        out.append({
            "id": candidate_id(representative), "representative": representative, "size": size,
            "unanswered": sum(q.source == "unanswered" for q in asked),
            "consultations": sum(q.source == "consultation" for q in asked),
            "examples": [texts[i] for i in ranked[:MAX_EXAMPLES]],
            "channels": sorted({q.channel for q in asked if q.channel}),
            "last_at": max(q.at for q in asked),
            "nearest": nearest_entry(kb, representative),
        })
    out.sort(key=lambda c: (-c["size"], -c["last_at"]))
    return out[:limit]


def measure(encoder, thresholds: list[float]) -> list[dict]:
    """Pairwise precision and recall of the grouping against catalog items: the FAQ base's
    phrasings and knowledge/eval's held-out queries, each labelled with its item; and how many
    out-of-scope messages (tests/data/fallback_questions.yml) end up grouped together."""
    from pathlib import Path

    import yaml

    from knowledge.faq import load_faq

    root = Path(__file__).resolve().parent.parent
    pairs = [(q, e.item_code) for e in load_faq().values() if e.item_code for q in e.questions]
    pairs += [(r["q"], r["code"]) for r in yaml.safe_load((root / "knowledge/eval/retrieval.yml").read_text("utf-8"))]
    noise = [str(x) for x in yaml.safe_load((root / "tests/data/fallback_questions.yml").read_text("utf-8"))]
    vectors = QueryVectors(encoder)
    matrix = vectors([normalize(q, lower=False) for q, _ in pairs])
    noise_matrix = vectors([normalize(q, lower=False) for q in noise])
    labels = np.array([code for _, code in pairs])
    same = labels[:, None] == labels[None, :]
    upper = np.triu(np.ones_like(same, dtype=bool), 1)
    rows = []
    for threshold in thresholds:
        assigned = np.zeros(len(pairs), dtype=int)
        for n, members in enumerate(group(matrix, [1] * len(pairs), threshold)):
            assigned[members] = n
        together = (assigned[:, None] == assigned[None, :]) & upper
        hits = (together & same).sum()
        noise_groups = [g for g in group(noise_matrix, [1] * len(noise), threshold) if len(g) > 1]
        rows.append({"threshold": threshold, "groups": int(assigned.max() + 1),
                     "precision": round(float(hits / max(together.sum(), 1)), 3),
                     "recall": round(float(hits / max((same & upper).sum(), 1)), 3),
                     "out_of_scope_grouped": sum(len(g) for g in noise_groups)})
    return rows


if __name__ == "__main__":
    import argparse
    import os
    from pathlib import Path

    from knowledge.encoder import Encoder

    ap = argparse.ArgumentParser(description="Measures the grouping threshold against catalog items.")
    ap.add_argument("--model", default=os.environ.get("HALL_E5_MODEL", ""), help="e5 model folder (HALL_E5_MODEL)")
    args = ap.parse_args()
    for row in measure(Encoder(Path(args.model)), [0.88, 0.89, 0.90, 0.91, 0.92]):
        print(row)
