"""The action server's knowledge base, kept current with the published overlay without a
restart: every look-up compares Redis's overlay version counter (one GET, a fraction of a
millisecond on the local Redis) with the version loaded, and on a change rebuilds the catalog,
FAQ and retriever from the YAML base plus the overlay. Passage vectors of unchanged texts are
reused from memory, so a rebuild encodes only the passages that changed."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import redis

from knowledge import overlay
from knowledge.base import DEFAULT_WEIGHTS, KnowledgeBase
from knowledge.catalog import Catalog, load_catalog
from knowledge.faq import FaqEntry, load_faq
from knowledge.retriever import Retriever, Weights

log = logging.getLogger(__name__)
# After Redis failed to answer, look-ups use the loaded knowledge this long before asking again,
# so an outage costs one short timeout now and then, not one per look-up.
RETRY_AFTER_S = 5.0


class ReusingEncoder:
    """The e5 encoder, remembering the passage vectors of the latest build: the next build
    encodes only texts it has not seen (counted in `encoded`, for the log and the tests)."""

    def __init__(self, encoder):
        self.inner = encoder
        self.model_dir = encoder.model_dir
        self._vectors: dict[str, np.ndarray] = {}
        self.encoded = 0

    def passages(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if todo:
            for text, vector in zip(todo, self.inner.passages(todo)):
                self._vectors[text] = vector
            self.encoded += len(todo)
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def keep_only(self, texts: set[str]) -> None:
        """Forgets vectors of texts no build uses any more (old overlay versions)."""
        self._vectors = {t: v for t, v in self._vectors.items() if t in texts}

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.inner.queries(texts)

    @property
    def dim(self) -> int:
        return self.inner.dim


class LiveKnowledge:
    def __init__(self, encoder, store: redis.Redis | None, weights: Weights = DEFAULT_WEIGHTS,
                 catalog: Catalog | None = None, faq: dict[str, FaqEntry] | None = None):
        self.base_catalog = catalog or load_catalog()
        self.base_faq = faq if faq is not None else load_faq(known_codes=set(self.base_catalog.items))
        self.encoder = ReusingEncoder(encoder)
        self.store, self.weights = store, weights
        self.version = -1               # nothing loaded from Redis yet
        self._quiet_until = 0.0
        self._lock = threading.Lock()
        self.kb: KnowledgeBase | None = None
        if store is not None:
            self.reload()
        if self.kb is None:             # Redis unreachable at start: the base now, the overlay later
            self.kb = self._build({})

    @classmethod
    def open(cls, model_dir: Path, cache_dir: Path, store: redis.Redis | None) -> "LiveKnowledge":
        from knowledge.encoder import Encoder
        return cls(Encoder(model_dir, cache_dir / "passage-vectors"), store)

    def _build(self, published: dict[str, dict]) -> KnowledgeBase:
        catalog, faq = overlay.apply(self.base_catalog, self.base_faq, published)
        before = self.encoder.encoded
        retriever = Retriever(catalog, faq, self.encoder, self.weights)
        self.encoder.keep_only(set(retriever.texts))
        log.info("knowledge base built: %d items, %d FAQ entries (%d overlay entries), %d passages encoded",
                 len(catalog.items), len(faq), len(published), self.encoder.encoded - before)
        return KnowledgeBase(catalog, faq, retriever)

    def _stored_version(self) -> int | None:
        if self.store is None or time.monotonic() < self._quiet_until:
            return None
        try:
            return int(self.store.get(overlay.VERSION) or 0)
        except redis.RedisError as exc:
            self._quiet_until = time.monotonic() + RETRY_AFTER_S
            log.warning("knowledge overlay version unavailable, keeping version %d: %s", self.version, exc)
            return None

    def current(self) -> KnowledgeBase:
        """The knowledge base of the latest published overlay."""
        version = self._stored_version()
        if version is not None and version != self.version:
            self.reload()
        return self.kb

    def reload(self) -> None:
        with self._lock:
            try:
                version, published = overlay.read_published(self.store)
            except redis.RedisError as exc:
                self._quiet_until = time.monotonic() + RETRY_AFTER_S
                log.warning("knowledge overlay unavailable: %s", exc)
                return
            if version == self.version:
                return                  # another thread got there first
            started = time.monotonic()
            self.kb = self._build(published)
            self.version = version
            log.info("knowledge overlay version %d loaded in %.0f ms", version, (time.monotonic() - started) * 1000)
