"""Measures the retriever on knowledge/eval/retrieval.yml (held-out queries -> item code):
top-1 and top-3 accuracy of dense only, lexical only and hybrids, and the score spread of
right and wrong answers (what the thresholds in actions/ are set from).
`python -m knowledge.evaluate E5_MODEL_DIR [CACHE_DIR]`"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import yaml

from knowledge.base import DEFAULT_WEIGHTS, SURE, UNSURE
from knowledge.catalog import load_catalog
from knowledge.encoder import Encoder
from knowledge.faq import load_faq
from knowledge.retriever import Retriever, Weights

EVAL = Path(__file__).resolve().parent / "eval" / "retrieval.yml"
# The end-to-end service questions are held out too; retrieval alone is measured on them here.
SERVICE_QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "service_questions.yml"
OUT_OF_SCOPE = Path(__file__).resolve().parent.parent / "tests" / "data" / "fallback_questions.yml"
CONFIGS = {
    "dense": Weights(),
    "dense+alias(0.02)": Weights(alias=0.02),
    "dense+alias": Weights(alias=0.05),
    "dense+alias(0.10)": Weights(alias=0.10),
    "dense+alias(0.03)+lexical(0.03)": Weights(lexical=0.03, alias=0.03),
    "dense+lexical(0.05)": Weights(lexical=0.05),
    "dense+lexical(0.10)": Weights(lexical=0.10),
    "dense+lexical(0.05)+alias": Weights(lexical=0.05, alias=0.05),
    "dense+lexical(0.10)+alias": Weights(lexical=0.10, alias=0.05),
}


def evaluate(retriever: Retriever, queries: list[dict]) -> dict:
    top1 = top3 = 0
    right, wrong = [], []
    for q in queries:
        ranked = retriever.rank_items(q["q"], k=3)
        codes = [h.code for h in ranked]
        top1 += codes[:1] == [q["code"]]
        top3 += q["code"] in codes
        (right if codes[:1] == [q["code"]] else wrong).append(ranked[0].score)
    n = len(queries)
    return {"top1": top1 / n, "top3": top3 / n, "right": right, "wrong": wrong}


def lexical_only(retriever: Retriever, queries: list[dict]) -> float:
    saved = retriever.passages
    retriever.passages = None
    try:
        return evaluate(retriever, queries)["top1"]
    finally:
        retriever.passages = saved


def main() -> None:
    model_dir = Path(sys.argv[1])
    cache = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    queries = yaml.safe_load(EVAL.read_text(encoding="utf-8"))
    queries += [{"q": q["q"], "code": q["code"]} for q in yaml.safe_load(SERVICE_QUESTIONS.read_text(encoding="utf-8"))]
    catalog = load_catalog()
    faq = load_faq(known_codes=set(catalog.items))
    encoder = Encoder(model_dir, cache)
    started = time.monotonic()
    retriever = Retriever(catalog, faq, encoder, Weights(lexical=1.0))
    print(f"{len(queries)} queries, {len(catalog.items)} items, {len(faq)} FAQ entries, "
          f"{len(retriever.owner)} passages (index built in {time.monotonic() - started:.1f}s)")
    print(f"{'lexical only (char bigram + jieba BM25)':40s} top1 {lexical_only(retriever, queries):.3f}")
    for name, weights in CONFIGS.items():
        retriever.weights = weights
        started = time.monotonic()
        r = evaluate(retriever, queries)
        ms = (time.monotonic() - started) * 1000 / len(queries)
        print(f"{name:40s} top1 {r['top1']:.3f}  top3 {r['top3']:.3f}  {ms:.1f} ms/query  "
              f"score right p10 {np.percentile(r['right'], 10):.3f} / wrong p50 "
              f"{np.percentile(r['wrong'], 50) if r['wrong'] else float('nan'):.3f}")
    retriever.weights = DEFAULT_WEIGHTS
    outside = [retriever.search(m, k=1)[0].score for m in yaml.safe_load(OUT_OF_SCOPE.read_text(encoding="utf-8"))]
    inside = evaluate(retriever, queries)["right"]
    print(f"default weights: in-scope right answers score p1 {np.percentile(inside, 1):.3f} "
          f"p5 {np.percentile(inside, 5):.3f}; out-of-scope messages score p50 {np.percentile(outside, 50):.3f} "
          f"max {max(outside):.3f} (UNSURE={UNSURE}, SURE={SURE})")


if __name__ == "__main__":
    main()
