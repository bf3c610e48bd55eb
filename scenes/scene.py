"""The scene schema: loading and validating scenes/data/*.yaml (format in scenes/README.md).

`python -m scenes.scene` validates every scene against the catalog and exits non-zero on any
problem; the test suite runs the same check, and the action server refuses to start on it."""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from knowledge.classification import FACETS

DATA_DIR = Path(__file__).parent / "data"
ID_RE = re.compile(r"^[a-z][a-z_0-9]*$")
CLASSIFICATION_FACET = {"personal": "life_events", "enterprise": "business_activities"}


class SceneError(ValueError):
    pass


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    id: str
    name: str
    ask: str
    type: str = "choice"                       # choice | date
    options: tuple[Option, ...] = ()
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Deadline:
    after: str
    days: int
    label: str


@dataclass(frozen=True)
class Step:
    item: str
    note: str = ""
    when: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deadline: Deadline | None = None


@dataclass(frozen=True)
class Scene:
    id: str
    title: str
    audience: str
    classification: str
    summary: str
    triggers: tuple[str, ...]
    questions: tuple[Question, ...]
    steps: tuple[Step, ...]

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)


def _when(raw, where: str) -> dict[str, tuple[str, ...]]:
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise SceneError(f"{where}: when must be a mapping question -> value(s)")
    return {str(k): tuple(str(x) for x in (v if isinstance(v, list) else [v])) for k, v in raw.items()}


def parse(raw: dict, source: str = "") -> Scene:
    try:
        questions = tuple(Question(
            id=q["id"], name=q["name"], ask=q["ask"], type=q.get("type", "choice"),
            options=tuple(Option(str(o["value"]), o["label"], tuple(o.get("synonyms") or ())) for o in q.get("options") or ()),
            when=_when(q.get("when"), f"{source} question {q.get('id')}")) for q in raw["questions"])
        steps = tuple(Step(
            item=s["item"], note=s.get("note", ""), when=_when(s.get("when"), f"{source} step {s.get('item')}"),
            deadline=Deadline(s["deadline"]["after"], int(s["deadline"]["days"]), s["deadline"]["label"])
            if s.get("deadline") else None) for s in raw["steps"])
        return Scene(id=raw["id"], title=raw["title"], audience=raw["audience"], classification=raw["classification"],
                     summary=raw["summary"], triggers=tuple(raw["triggers"]), questions=questions, steps=steps)
    except (KeyError, TypeError, ValueError) as exc:
        raise SceneError(f"{source}: malformed scene ({type(exc).__name__}: {exc})") from exc


def problems(scene: Scene, known_items: set[str], file_stem: str | None = None) -> list[str]:
    """Everything wrong with a scene; empty when it is valid."""
    out: list[str] = []
    where = f"scene {scene.id}"
    if file_stem is not None and scene.id != file_stem:
        out.append(f"{where}: id differs from the file name {file_stem}")
    if not ID_RE.match(scene.id):
        out.append(f"{where}: id must match {ID_RE.pattern}")
    if scene.audience not in CLASSIFICATION_FACET:
        out.append(f"{where}: audience must be personal or enterprise")
    elif scene.classification not in FACETS[(scene.audience, CLASSIFICATION_FACET[scene.audience])]:
        out.append(f"{where}: classification {scene.classification} is not a 9.1.3 value for {scene.audience}")
    if len(scene.triggers) < 5:
        out.append(f"{where}: needs at least 5 triggers")
    seen: dict[str, Question] = {}
    for q in scene.questions:
        if not ID_RE.match(q.id) or q.id in seen:
            out.append(f"{where}: question id {q.id!r} is malformed or repeated")
        if q.type == "choice":
            values = [o.value for o in q.options]
            if not 2 <= len(values) <= 6 or len(set(values)) != len(values):
                out.append(f"{where}: question {q.id} needs 2-6 options with distinct values")
            labels = [o.label for o in q.options]
            if len(set(labels)) != len(labels):
                out.append(f"{where}: question {q.id} repeats an option label")
        elif q.type != "date":
            out.append(f"{where}: question {q.id} has unknown type {q.type}")
        out += _when_problems(q.when, seen, f"{where} question {q.id}")
        seen[q.id] = q
    for s in scene.steps:
        if s.item not in known_items:
            out.append(f"{where}: step item {s.item} is not in the catalog")
        out += _when_problems(s.when, seen, f"{where} step {s.item}")
        if s.deadline and (seen.get(s.deadline.after) is None or seen[s.deadline.after].type != "date"):
            out.append(f"{where}: step {s.item} deadline.after must name a date question")
        if s.deadline and not 0 < s.deadline.days <= 3650:
            out.append(f"{where}: step {s.item} deadline.days out of range")
    used = {k for x in (*scene.questions, *scene.steps) for k in x.when}
    for q in scene.questions:
        if q.type == "choice" and q.id not in used:
            out.append(f"{where}: question {q.id} changes nothing (no `when` uses it)")
        if q.type == "date" and not any(s.deadline and s.deadline.after == q.id for s in scene.steps):
            out.append(f"{where}: date question {q.id} feeds no deadline")
    if not out:
        from scenes.runner import all_paths, plan
        for answers in all_paths(scene):
            if not plan(scene, answers):
                out.append(f"{where}: the answers {answers} lead to an empty plan")
    return out


def _when_problems(when: dict, earlier: dict[str, Question], where: str) -> list[str]:
    out = []
    for qid, values in when.items():
        q = earlier.get(qid)
        if q is None or q.type != "choice":
            out.append(f"{where}: when names {qid}, which is not an earlier choice question")
        elif any(q.option(v) is None for v in values):
            out.append(f"{where}: when {qid} uses a value that is not one of its options")
    return out


def load_all(known_items: set[str] | None = None, directory: Path = DATA_DIR) -> dict[str, Scene]:
    """Every scene, validated (against the catalog when known_items is given)."""
    scenes, errors = {}, []
    for path in sorted(directory.glob("*.yaml")):
        scene = parse(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
        errors += problems(scene, known_items, path.stem) if known_items is not None else []
        scenes[scene.id] = scene
    if errors:
        raise SceneError("\n".join(errors))
    return scenes


def main() -> int:
    from knowledge.catalog import load_catalog
    try:
        scenes = load_all(set(load_catalog().items))
    except SceneError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(scenes)} scenes valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
