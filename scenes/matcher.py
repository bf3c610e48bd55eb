"""Which scene a message is about ("我要开公司" → open_company), by e5 similarity of the message
to each scene's triggers and title — the same encoder and score scale as the retriever."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.scene import Scene

# Measured on held-out paraphrases of the 12 scenes against the 108 service, 15 hall and 25
# out-of-scope questions: scene scores overlap (life events share words with their services),
# so a scene is started only when the NLU heard a whole life event, the scene scores at least
# SURE, and no single service matches clearly better (by more than MARGIN); otherwise the
# question is answered and the scene offered when it scores at least UNSURE.
SURE, UNSURE, MARGIN = 0.90, 0.89, 0.01


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
