"""Check a file edgevision wrote against its shipped schema: valid for `jsonschema` and for the built-in
checker alike, and holding no key the schema does not describe (a new key goes into the schema)."""

import json
from pathlib import Path

from edgevision import formats
from edgevision.formats import checker


def assert_valid(kind: str, document) -> dict:
    """`document` (a dict or a file path) is a valid `kind` with every key described; returns it."""
    if isinstance(document, str | Path):
        document = json.loads(Path(document).read_text())
    for engine in ("jsonschema", "builtin"):
        assert formats.problem(kind, document, engine) is None, (engine, formats.problem(kind, document, engine))
    schema = formats.schema(kind)
    extra = undescribed([schema], document, schema)
    assert not extra, f"keys the {kind} schema does not describe: {', '.join(extra)}"
    return document


def undescribed(schemas, instance, root, path=()) -> list[str]:
    """JSON paths of object keys that no schema applying at that place declares, where some schema there
    lists `properties` (an object schema without them, or with additionalProperties, is a free-form map)."""
    here = [s for schema in schemas for s in _applying(schema, instance, root)]
    found = []
    if isinstance(instance, dict):
        for key, value in instance.items():
            children = [s["properties"][key] for s in here if key in s.get("properties", {})]
            children += [s["additionalProperties"] for s in here
                         if key not in s.get("properties", {}) and isinstance(s.get("additionalProperties"), dict)]
            declared = any("properties" in s for s in here) and not any("additionalProperties" in s for s in here)
            if not children and declared:
                found.append(formats.json_path((*path, key)))
            found += undescribed(children, value, root, (*path, key))
    elif isinstance(instance, list):
        items = [s["items"] for s in here if isinstance(s.get("items"), dict)]
        for i, item in enumerate(instance):
            found += undescribed(items, item, root, (*path, i))
    return found


def _applying(schema, instance, root):
    """`schema` and the subschemas it applies at the same place ($ref, the if/then/else branch taken)."""
    yield schema
    if "$ref" in schema:
        node = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        yield from _applying(node, instance, root)
    if "if" in schema:
        branch = "else" if any(True for _ in checker.iter_errors(schema["if"], instance, root)) else "then"
        if branch in schema:
            yield from _applying(schema[branch], instance, root)
