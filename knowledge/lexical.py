"""BM25 over character bigrams plus jieba words (with the 政务 user dictionary).

Char bigrams are robust to the segmentation errors and typos of short citizen messages;
jieba words add whole-term matches for service names. Used beside the dense retriever only
as far as knowledge/evaluate.py shows it helps.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import jieba

from common.text import normalize

USER_DICT_DIR = Path(__file__).resolve().parent.parent / "nlu" / "dict"
_CJK_OR_WORD = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
# Words that say nothing about which service is meant.
STOPWORDS = set("的 了 吗 呢 啊 吧 我 你 要 想 怎么 怎样 如何 什么 哪些 哪里 可以 能 需要 办 办理 一下 请问 是 在 有 和 去 给".split())


@lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.initialize()
    for path in sorted(USER_DICT_DIR.glob("*.txt")):
        tok.load_userdict(str(path))
    return tok


def terms(text: str) -> list[str]:
    text = normalize(text)
    out = []
    for run in _CJK_OR_WORD.findall(text):
        if run[0].isascii():
            out.append(run)
            continue
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
        out.extend(w for w in tokenizer().lcut(run) if len(w) > 1 and w not in STOPWORDS)
    return out


class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.docs = [Counter(terms(d)) for d in docs]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.avg = sum(self.lengths) / max(len(self.docs), 1)
        df = Counter(t for c in self.docs for t in c)
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> list[float]:
        q = set(terms(query))
        out = []
        for doc, length in zip(self.docs, self.lengths):
            s = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / self.avg)
            for t in q:
                f = doc.get(t)
                if f:
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out
