"""A small checker of JSON values against the OpenAPI 3.0 schemas of hall/openapi.yaml (the
subset the document uses: $ref, type, nullable, required, properties, items, enum, pattern,
minLength/maxLength, format date/date-time). Strict about objects: a property the document
does not describe is an error, so every field the hall sends is documented."""
from __future__ import annotations

import re
from datetime import date, datetime


def resolve(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


def problems(doc: dict, schema: dict, value, path: str = "$") -> list[str]:
    if "$ref" in schema:
        return problems(doc, resolve(doc, schema["$ref"]), value, path)
    if value is None:
        return [] if schema.get("nullable") else [f"{path}: null is not allowed"]
    out: list[str] = []
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        out += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        props = schema.get("properties")
        if props is not None:
            for key, item in value.items():
                if key not in props:
                    out.append(f"{path}: undocumented property {key}")
                else:
                    out += problems(doc, props[key], item, f"{path}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array"]
        for i, item in enumerate(value):
            out += problems(doc, schema.get("items", {}), item, f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {value!r}"]
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{path}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 10**9):
            out.append(f"{path}: length {len(value)} out of bounds")
        fmt = schema.get("format")
        try:
            if fmt == "date":
                date.fromisoformat(value)
            elif fmt == "date-time":
                if datetime.fromisoformat(value).utcoffset() is None:
                    out.append(f"{path}: date-time without offset")
        except ValueError:
            out.append(f"{path}: {value!r} is not a {fmt}")
    elif kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path}: expected an integer"]
    elif kind == "boolean":
        if not isinstance(value, bool):
            return [f"{path}: expected a boolean"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{path}: {value!r} not in {schema['enum']}")
    return out


def response_schema(doc: dict, template: str, method: str, status: int) -> dict:
    responses = doc["paths"][template][method.lower()]["responses"]
    entry = responses.get(str(status))
    assert entry is not None, f"{method} {template}: status {status} not documented"
    if "$ref" in entry:
        entry = resolve(doc, entry["$ref"])
    return entry["content"]["application/json"]["schema"]
