"""Who may import whom (ARCHITECTURE.md), checked from the imports themselves: every `import`
and `from … import` in every module of the project's packages, at module level or inside a
function, TYPE_CHECKING blocks included. A path tells which process runs a file, so a package
may only import the packages its process is allowed to load."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("common", "knowledge", "scenes", "channels", "staff", "assistant", "actions", "hall", "ops")
# package -> the project packages it may import (besides itself)
ALLOWED = {
    "common": set(),                                   # the shared library imports no server code
    "knowledge": {"common"},
    "scenes": {"common", "knowledge"},
    "channels": {"common", "knowledge"},               # adapters know nothing of the gateway or Rasa
    "staff": {"common", "knowledge"},                  # the staff sub-application
    "assistant": {"common", "knowledge", "channels", "staff"},   # the gateway process composes them
    "actions": {"common", "knowledge", "scenes"},      # the action server
    "hall": {"common"},                                # stands in for a city's own hall
    "ops": {"common", "hall"},                         # backup and restore tools
}


def imports(path: Path) -> set[str]:
    """The top-level project packages a file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PACKAGES)


def test_every_package_imports_only_what_its_process_may_load():
    wrong = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for target in sorted(imports(path) - ALLOWED[package] - {package}):
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert wrong == []


def test_the_table_names_every_package_with_python_code():
    with_code = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert with_code == set(PACKAGES)
