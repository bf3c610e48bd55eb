"""Which scene a message is about ("我要开公司" → open_company), by e5 similarity of the message
to each scene's triggers and title — the same encoder and score scale as the retriever."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.scene import Scene

# Calibrated like the retriever's bands: in-scope paraphrases of a trigger score above SURE;
# between the two the scene is offered rather than started.
SURE, UNSURE = 0.92, 0.89


@dataclass(frozen=True)
class SceneHit:
    scene: Scene
    score: float


class SceneMatcher:
    def __init__(self, scenes: dict[str, Scene], encoder):
        self.scenes, self.encoder = scenes, encoder
        self.owner: list[str] = []
        texts: list[str] = []
        for scene in scenes.values():
            for text in (f"{scene.title}一件事", *scene.triggers):
                self.owner.append(scene.id)
                texts.append(text)
        self.vectors = encoder.passages(texts) if texts else np.zeros((0, 1), dtype=np.float32)

    def best(self, text: str, query_vector: np.ndarray | None = None) -> SceneHit | None:
        if not self.owner:
            return None
        q = query_vector if query_vector is not None else self.encoder.queries([text])[0]
        scores = self.vectors @ q
        i = int(np.argmax(scores))
        return SceneHit(self.scenes[self.owner[i]], float(scores[i]))
