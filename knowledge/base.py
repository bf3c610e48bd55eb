"""The knowledge base as the actions see it: catalog + FAQ + retriever, loaded once."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from knowledge.catalog import Catalog, Item, load_catalog
from knowledge.faq import FaqEntry, load_faq
from knowledge.retriever import Hit, Retriever, Weights

log = logging.getLogger(__name__)

# Measured on knowledge/eval/retrieval.yml by knowledge/evaluate.py (see README "Retrieval"):
# dense e5 plus a small bonus for an exact alias mention; BM25 added nothing measurable.
DEFAULT_WEIGHTS = Weights(lexical=0.0, alias=0.02)
# Score bands under DEFAULT_WEIGHTS, from the same script: held-out in-scope questions score
# above ~0.895 (1st percentile), out-of-scope messages below ~0.90 (maximum). Below UNSURE the
# assistant does not answer from the knowledge base; between the two it answers and offers
# the runner-up services too.
UNSURE = 0.90
SURE = 0.93


@dataclass
class KnowledgeBase:
    catalog: Catalog
    faq: dict[str, FaqEntry]
    retriever: Retriever

    @classmethod
    def load(cls, model_dir: Path, cache_dir: Path, weights: Weights = DEFAULT_WEIGHTS) -> "KnowledgeBase":
        from knowledge.encoder import Encoder

        started = time.monotonic()
        catalog = load_catalog()
        faq = load_faq(known_codes=set(catalog.items))
        encoder = Encoder(model_dir, cache_dir / "passage-vectors")
        retriever = Retriever(catalog, faq, encoder, weights)
        log.info("knowledge base: %d items, %d FAQ entries, %d passages in %.1fs", len(catalog.items),
                 len(faq), len(retriever.owner), time.monotonic() - started)
        return cls(catalog, faq, retriever)

    def item(self, code: str | None) -> Item | None:
        return self.catalog.get(code) if code else None

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return self.retriever.search(text, k)

    def rank_items(self, text: str, k: int = 3) -> list[Hit]:
        return self.retriever.rank_items(text, k)
