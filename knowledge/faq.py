"""Loads the FAQ knowledge base: YAML lists of question/answer entries, one file per topic."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

FAQ_DIR = Path(__file__).parent / "faq"


class FaqError(ValueError):
    """An FAQ file breaks the format described in knowledge/faq/README.md."""


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    alt_questions: tuple[str, ...]
    answer: str
    item_code: str
    tags: tuple[str, ...]

    @property
    def questions(self) -> tuple[str, ...]:
        return (self.question, *self.alt_questions)


def load_faq(directory: Path = FAQ_DIR, known_codes: set[str] | None = None) -> dict[str, FaqEntry]:
    entries: dict[str, FaqEntry] = {}
    for path in sorted(directory.glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if not (isinstance(raw, dict) and raw.get("id") and raw.get("question") and raw.get("answer")):
                raise FaqError(f"{path.name}: entry without id/question/answer: {raw!r}")
            entry = FaqEntry(
                id=str(raw["id"]), question=str(raw["question"]).strip(),
                alt_questions=tuple(str(q).strip() for q in raw.get("alt_questions") or ()),
                answer=" ".join(str(raw["answer"]).split()), item_code=str(raw.get("item_code") or ""),
                tags=tuple(map(str, raw.get("tags") or ())),
            )
            if entry.id in entries:
                raise FaqError(f"{path.name}: duplicate id {entry.id}")
            if known_codes is not None and entry.item_code and entry.item_code not in known_codes:
                raise FaqError(f"{path.name}: {entry.id} names unknown item {entry.item_code}")
            entries[entry.id] = entry
    return entries
