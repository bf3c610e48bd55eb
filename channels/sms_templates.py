"""The carrier-registered SMS templates (channels/sms_templates.yaml) and their rendering:
a notification is a template name plus variables, and goes out only if every variable of the
template is given (carriers reject texts that do not match a registered template)."""
from __future__ import annotations

import string
from pathlib import Path

import yaml

TEMPLATES_FILE = Path(__file__).resolve().parent / "sms_templates.yaml"


class TemplateError(ValueError):
    """Unknown template or missing variable; the message says which (no variable values)."""


class SmsTemplates:
    def __init__(self, templates: dict[str, str]):
        for name, text in templates.items():
            for field in self.fields(text):
                if not field.isidentifier():
                    raise ValueError(f"template {name}: placeholder {{{field}}} is not a plain name")
        self.templates = templates

    @classmethod
    def load(cls, path: Path = TEMPLATES_FILE) -> "SmsTemplates":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls({str(k): str(v) for k, v in data.items()})

    @staticmethod
    def fields(text: str) -> list[str]:
        return [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]

    def render(self, name: str, variables: dict) -> str:
        if name not in self.templates:
            raise TemplateError(f"unknown template {name!r}")
        text = self.templates[name]
        missing = [f for f in self.fields(text) if variables.get(f) is None or str(variables[f]).strip() == ""]
        if missing:
            raise TemplateError(f"template {name!r} lacks {', '.join(sorted(set(missing)))}")
        # A value is one line of text: a newline or a brace in it cannot reshape the template.
        values = {f: " ".join(str(variables[f]).split()) for f in self.fields(text)}
        return text.format_map(values)
