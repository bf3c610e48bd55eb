"""The one way a process reads its configuration: environment variables with defaults.

Settings classes are frozen dataclasses whose fields read the environment when an instance is
made (so tests and `scripts/stack.py` can change the environment and make a new one):

    @dataclass(frozen=True)
    class VoiceSettings:
        part_chars: int = setting("VOICE_PART_CHARS", 120)

`setting` casts to the type of its default (str, int, float, bool, Path); a bool is true for
1/true/yes/on."""
from __future__ import annotations

import os
from dataclasses import field
from pathlib import Path
from typing import Any

_TRUE = {"1", "true", "yes", "on"}


def env(name: str, default: str = "") -> str:
    """The variable's value, or `default` when it is not set."""
    return os.environ.get(name, default)


def cast(raw: str, like: Any) -> Any:
    if isinstance(like, bool):
        return raw.strip().lower() in _TRUE
    if isinstance(like, Path):
        return Path(raw)
    return type(like)(raw) if like is not None else raw


def setting(name: str, default: Any) -> Any:
    """A dataclass field read from `name` when the settings object is made."""
    return field(default_factory=lambda: cast(env(name), default) if name in os.environ else default)
