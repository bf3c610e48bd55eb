"""Finds the catalog item or FAQ entry a citizen's message is about.

Every item contributes passages (its name with aliases and summary, and its own FAQ
questions); every FAQ entry contributes each of its phrasings. A unit's score is the best
score over its passages. Dense e5 similarity is the main signal; a BM25 lexical score and an
exact alias match are added with the weights that knowledge/evaluate.py measured best.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from common.text import normalize
from knowledge.catalog import Catalog
from knowledge.faq import FaqEntry
from knowledge.lexical import BM25


@dataclass(frozen=True)
class Hit:
    kind: str        # "item" or "faq"
    key: str         # item code or FAQ id
    code: str        # the catalog item it belongs to ("" for hall/general FAQ)
    score: float


@dataclass(frozen=True)
class Weights:
    lexical: float = 0.0    # times BM25 normalised to [0, 1] per query
    alias: float = 0.0      # added to an item whose alias the message contains


class Retriever:
    def __init__(self, catalog: Catalog, faq: dict[str, FaqEntry], encoder, weights: Weights = Weights()):
        self.catalog, self.faq, self.encoder, self.weights = catalog, faq, encoder, weights
        units: list[tuple[str, str, str]] = []     # (kind, key, code) per unit
        texts: list[str] = []
        owner: list[int] = []                      # passage -> unit index
        for item in catalog.items.values():
            units.append(("item", item.code, item.code))
            u = len(units) - 1
            for text in (f"{item.name}。{'、'.join(item.aliases)}。{item.summary}",
                         *(f"{q['q']}" for q in item.faq)):
                texts.append(text)
                owner.append(u)
        for entry in faq.values():
            units.append(("faq", entry.id, entry.item_code))
            u = len(units) - 1
            for q in entry.questions:
                texts.append(q)
                owner.append(u)
        self.units = units
        self.texts = texts
        self.owner = np.array(owner)
        self.passages = encoder.passages(texts) if encoder is not None else None
        # Aliases of at least two characters, longest first, for exact-mention matching.
        self.aliases = sorted(
            ((normalize(a), item.code) for item in catalog.items.values() for a in (item.name, *item.aliases)
             if len(a) >= 2), key=lambda p: -len(p[0]))
        self.unit_of_item = {key: i for i, (kind, key, _) in enumerate(units) if kind == "item"}
        # One turn asks about the same text several times (search, rank_items, fallback);
        # the query is embedded once.
        self._query_vector = lru_cache(maxsize=512)(self._embed_query)

    @cached_property
    def bm25(self) -> BM25:
        """Built on first use: with the default weights it is never used, and building it is most
        of the cost of rebuilding the retriever when the knowledge overlay changes."""
        return BM25(self.texts)

    def _embed_query(self, text: str) -> np.ndarray:
        return self.encoder.queries([text])[0]

    def query_vector(self, text: str) -> np.ndarray:
        """The (cached) e5 query embedding of a text, for other matchers on the same scale."""
        return self._query_vector(normalize(text))

    def passage_scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.owner), dtype=np.float32)
        if self.passages is not None:
            scores += self.passages @ self._query_vector(normalize(query))
        if self.weights.lexical:
            lex = np.array(self.bm25.scores(query), dtype=np.float32)
            if lex.max() > 0:
                scores += self.weights.lexical * lex / lex.max()
        return scores

    def mentioned_items(self, query: str) -> list[str]:
        """Codes of items whose name or alias appears verbatim in the message."""
        text, found = normalize(query), []
        for alias, code in self.aliases:
            if alias in text and code not in found:
                found.append(code)
        return found

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """Best units (items and FAQ entries), best first."""
        per_passage = self.passage_scores(query)
        unit_scores = np.full(len(self.units), -1e9, dtype=np.float32)
        np.maximum.at(unit_scores, self.owner, per_passage)
        if self.weights.alias:
            for code in self.mentioned_items(query)[:1]:
                unit_scores[self.unit_of_item[code]] += self.weights.alias
        order = np.argsort(-unit_scores)[:k]
        return [Hit(*self.units[i], float(unit_scores[i])) for i in order]

    def rank_items(self, query: str, k: int = 3) -> list[Hit]:
        """Best catalog items: a matching FAQ entry counts for the item it belongs to."""
        best: dict[str, float] = {}
        for hit in self.search(query, k=40):
            if hit.code and hit.score > best.get(hit.code, -1e9):
                best[hit.code] = hit.score
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:k]
        return [Hit("item", code, code, score) for code, score in ranked]
