"""The scene data and logic: every scene valid against the catalog, the validator catching each
kind of mistake, and the runner's navigation (progress, back, change, restart) and matching."""
from __future__ import annotations

import copy

import pytest
import yaml

from knowledge.catalog import load_catalog
from scenes import runner
from scenes.runner import State
from scenes.scene import DATA_DIR, SceneError, load_all, parse, problems

CATALOG = set(load_catalog().items)
BABY = yaml.safe_load((DATA_DIR / "baby.yaml").read_text(encoding="utf-8"))


def test_every_scene_is_valid_against_the_catalog():
    scenes = load_all(CATALOG)
    assert len(scenes) >= 12
    assert {s.audience for s in scenes.values()} == {"personal", "enterprise"}


def test_every_scene_has_a_plan_on_every_path_and_covering_paths_reach_every_option():
    for scene in load_all(CATALOG).values():
        paths = runner.covering_paths(scene)
        taken = {(q, v) for p in paths for q, v in p.items()}
        for q in scene.questions:
            if q.type == "choice" and any(q.id in p for p in runner.all_paths(scene)):
                assert {o.value for o in q.options} <= {v for k, v in taken if k == q.id}, (scene.id, q.id)
        assert all(runner.plan(scene, p) for p in paths)


def _problems_of(change) -> list[str]:
    raw = copy.deepcopy(BABY)
    change(raw)
    return problems(parse(raw, "baby.yaml"), CATALOG, "baby")


def test_validator_refuses_an_unknown_item_code():
    assert any("not in the catalog" in p for p in _problems_of(lambda r: r["steps"][0].update(item="440300-999-QR-0001")))


def test_validator_refuses_a_question_that_changes_nothing():
    def drop_uses(raw):
        for step in raw["steps"]:
            if step.get("when", {}).get("mother_insured"):
                del step["when"]
    assert any("changes nothing" in p for p in _problems_of(drop_uses))


def test_validator_refuses_conditions_on_unknown_questions_or_values():
    assert any("not an earlier choice question" in p
               for p in _problems_of(lambda r: r["steps"][2].update(when={"district": "futian"})))
    assert any("not one of its options" in p for p in _problems_of(lambda r: r["steps"][2].update(when={"hukou": "hk"})))


def test_validator_refuses_a_deadline_on_a_choice_question_and_a_bad_classification():
    assert any("deadline.after" in p for p in _problems_of(lambda r: r["steps"][2]["deadline"].update(after="hukou")))
    assert any("classification" in p for p in _problems_of(lambda r: r.update(classification="开办企业")))


def test_malformed_scene_is_a_clear_error():
    with pytest.raises(SceneError, match="malformed"):
        parse({"id": "x", "title": "x"}, "x.yaml")


def test_progress_back_change_and_restart():
    scene = load_all(CATALOG)["baby"]
    state = State("baby")
    assert runner.next_question(scene, state.answers).id == "hukou"
    first = runner.progress(scene, state.answers)
    assert (first.step, first.total) == (1, 3) and first.remaining[0] == "户籍情况"
    state.set("hukou", "sz")
    state.set("mother_insured", "no")
    assert runner.progress(scene, state.answers).step == 3
    assert state.back() == "mother_insured" and runner.next_question(scene, state.answers).id == "mother_insured"
    state.set("mother_insured", "yes")
    state.set("birth_date", "2026-11-01")
    assert runner.next_question(scene, state.answers) is None
    state.change("hukou")                          # asked again; the later answers stay
    assert runner.next_question(scene, state.answers).id == "hukou"
    assert state.answers["birth_date"] == "2026-11-01"
    state.set("hukou", "other")
    codes = [s.item for s in runner.plan(scene, state.answers)]
    assert "440300-001-QR-0003" not in codes and "440300-006-GF-0001" in codes
    state.restart()
    assert state.answers == {} and runner.next_question(scene, {}).id == "hukou"


def test_option_matching_by_label_synonym_number_and_longest_match():
    q = load_all(CATALOG)["baby"].question("hukou")
    assert runner.match_option(q, "有一方是深圳户籍").value == "sz"
    assert runner.match_option(q, "我老公是深户").value == "sz"
    assert runner.match_option(q, "不是深户").value == "other"      # not the shorter 深户
    assert runner.match_option(q, "2").value == "other"
    assert runner.match_option(q, "随便") is None
