"""A scene's logic, free of Rasa and Redis: which question comes next, how far along the
citizen is (standard 6.1.2.3: where they are and what is left), going back, changing an
answer, restarting, and the personalised plan for the answers given."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from scenes.scene import Option, Question, Scene, Step

SAMPLE_DATE = "2026-01-15"      # stands in for any date when enumerating paths


@dataclass
class Progress:
    step: int                   # the question now asked is number `step` ...
    total: int                  # ... of `total` (as far as the answers so far tell)
    remaining: list[str]        # names of the questions still to come, this one included


@dataclass
class State:
    scene: str
    answers: dict[str, str] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)     # question ids in the order answered

    def set(self, qid: str, value: str) -> None:
        self.answers[qid] = value
        if qid in self.order:
            self.order.remove(qid)
        self.order.append(qid)

    def back(self) -> str | None:
        """Forgets the last answer; returns its question id (None at the first question)."""
        if not self.order:
            return None
        qid = self.order.pop()
        self.answers.pop(qid, None)
        return qid

    def change(self, qid: str) -> None:
        """Forgets one answer so it is asked again; later answers stay where they still apply."""
        self.answers.pop(qid, None)
        if qid in self.order:
            self.order.remove(qid)

    def restart(self) -> None:
        self.answers.clear()
        self.order.clear()


def holds(when: dict[str, tuple[str, ...]], answers: dict[str, str]) -> bool:
    return all(answers.get(qid) in values for qid, values in when.items())


def _may_hold(when: dict[str, tuple[str, ...]], answers: dict[str, str]) -> bool:
    """Not yet ruled out: every condition on an answered question holds."""
    return all(answers[qid] in values for qid, values in when.items() if qid in answers)


def next_question(scene: Scene, answers: dict[str, str]) -> Question | None:
    return next((q for q in scene.questions if q.id not in answers and holds(q.when, answers)), None)


def relevant_answers(scene: Scene, answers: dict[str, str]) -> dict[str, str]:
    """The answers that still count: a changed answer may make later ones moot."""
    out: dict[str, str] = {}
    for q in scene.questions:
        if q.id in answers and holds(q.when, out):
            out[q.id] = answers[q.id]
    return out


def progress(scene: Scene, answers: dict[str, str]) -> Progress:
    answers = relevant_answers(scene, answers)
    done = len(answers)
    pending = [q for q in scene.questions if q.id not in answers and _may_hold(q.when, answers)]
    return Progress(done + 1, done + len(pending), [q.name for q in pending])


def plan(scene: Scene, answers: dict[str, str]) -> list[Step]:
    answers = relevant_answers(scene, answers)
    return [s for s in scene.steps if holds(s.when, answers)]


def _squash(text: str) -> str:
    return re.sub(r"[\s，。,.!！?？：:；;、“”\"'（）()]", "", text or "")


def match_option(question: Question, text: str) -> Option | None:
    """The option a typed answer means: its number, label, value or a synonym — exact first,
    then the longest one contained in the text; None when nothing (or a tie) matches."""
    said = _squash(text)
    if said.isdigit() and 1 <= int(said) <= len(question.options):
        return question.options[int(said) - 1]
    names = [(o, _squash(n)) for o in question.options for n in (o.label, o.value, *o.synonyms)]
    exact = {o.value: o for o, n in names if n and n == said}
    if len(exact) == 1:
        return next(iter(exact.values()))
    contained = sorted(((len(n), o) for o, n in names if n and n in said), key=lambda x: -x[0])
    if not contained:
        return None
    best = [o for length, o in contained if length == contained[0][0]]
    return best[0] if len({o.value for o in best}) == 1 else None


def all_paths(scene: Scene) -> list[dict[str, str]]:
    """Every complete set of answers (dates take SAMPLE_DATE)."""
    out: list[dict[str, str]] = []

    def walk(answers: dict[str, str]) -> None:
        q = next_question(scene, answers)
        if q is None:
            out.append(answers)
            return
        for value in ([SAMPLE_DATE] if q.type == "date" else [o.value for o in q.options]):
            walk({**answers, q.id: value})

    walk({})
    return out


def covering_paths(scene: Scene) -> list[dict[str, str]]:
    """A few paths that between them take every option of every question they can reach."""
    paths = all_paths(scene)
    wanted = {(q, v) for p in paths for q, v in p.items()}
    chosen: list[dict[str, str]] = []
    while wanted:
        best = max(paths, key=lambda p: len(wanted & set(p.items())))
        chosen.append(best)
        wanted -= set(best.items())
    return chosen
