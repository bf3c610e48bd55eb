"""The Rasa training data: enough varied examples per intent, and Rasa's own validator passes."""
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

NLU = Path(__file__).resolve().parents[2] / "nlu"
DOMAIN = yaml.safe_load((NLU / "domain.yml").read_text(encoding="utf-8"))


def examples() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((NLU / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if "intent" in block:
                lines = [l[2:].strip() for l in block["examples"].splitlines() if l.startswith("- ")]
                out.setdefault(block["intent"], []).extend(lines)
    return out


def test_every_domain_intent_has_at_least_25_distinct_examples():
    ex = examples()
    for intent in DOMAIN["intents"]:
        assert len(set(ex.get(intent, []))) >= 25, intent


def test_no_example_is_under_two_intents():
    seen: dict[str, str] = {}
    for intent, lines in examples().items():
        for line in lines:
            plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line)
            assert seen.setdefault(plain, intent) == intent, f"{plain!r} under {seen[plain]} and {intent}"


def test_annotated_entities_are_declared():
    declared = set(DOMAIN["entities"])
    for lines in examples().values():
        for line in lines:
            for name in re.findall(r"\]\(([^)]+)\)", line):
                assert name in declared, name
            for name in re.findall(r'\]\{"entity": "([^"]+)"', line):
                assert name in declared, name


def test_rasa_data_validate_passes():
    rasa_py = os.environ.get("HALL_RASA_PYTHON")
    if not rasa_py:
        pytest.fail("HALL_RASA_PYTHON is not set: run the tests through `make test`")
    out = subprocess.run([rasa_py, "-m", "rasa", "data", "validate", "--quiet",
                          "--config", "nlu/config.yml", "--domain", "nlu/domain.yml", "--data", "nlu/data"],
                         cwd=NLU.parent, capture_output=True, text=True, env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
