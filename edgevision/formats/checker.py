"""A small JSON Schema (draft 2020-12) checker for the keywords edgevision's schemas use.

The runtime reads model descriptions on a Raspberry Pi, where `jsonschema` may be missing (its
`rpds-py` dependency is a compiled extension with no wheel for every 32-bit ARM board), so
validation falls back to this. It yields the same (path, keyword, value, instance) facts as
`jsonschema`'s errors; tests/formats prove both give the same answer on every document they see,
and that the schemas use no keyword outside KEYWORDS.
"""

from __future__ import annotations

from collections.abc import Iterator

# Keywords that constrain a document, and those that only describe it.
KEYWORDS = frozenset({"type", "enum", "const", "required", "properties", "additionalProperties", "items",
                      "minItems", "maxItems", "minimum", "maximum", "$ref", "if", "then", "else"})
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "title", "description"})

_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def json_equal(a, b) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if _TYPES["number"](a) and _TYPES["number"](b):
        return a == b
    return type(a) is type(b) and a == b


def is_type(value, name: str) -> bool:
    return _TYPES[name](value)


def iter_errors(schema: dict, instance, root: dict | None = None, path: tuple = ()) -> Iterator[tuple]:
    """(path, keyword, keyword value, instance) for every constraint `instance` breaks."""
    root = schema if root is None else root
    for keyword, value in schema.items():
        if keyword == "type":
            names = [value] if isinstance(value, str) else value
            if not any(is_type(instance, n) for n in names):
                yield path, keyword, value, instance
        elif keyword == "enum":
            if not any(json_equal(instance, v) for v in value):
                yield path, keyword, value, instance
        elif keyword == "const":
            if not json_equal(instance, value):
                yield path, keyword, value, instance
        elif keyword == "$ref":
            yield from iter_errors(_resolve(root, value), instance, root, path)
        elif keyword == "if":
            branch = "then" if not any(True for _ in iter_errors(value, instance, root, path)) else "else"
            if branch in schema:
                yield from iter_errors(schema[branch], instance, root, path)
        elif isinstance(instance, dict):
            yield from _object(keyword, value, schema, instance, root, path)
        elif isinstance(instance, list):
            yield from _array(keyword, value, instance, root, path)
        elif is_type(instance, "number"):
            if (keyword == "minimum" and instance < value) or (keyword == "maximum" and instance > value):
                yield path, keyword, value, instance


def _object(keyword, value, schema, instance, root, path):
    if keyword == "required":
        for key in value:
            if key not in instance:
                yield path, keyword, value, instance
    elif keyword == "properties":
        for key, subschema in value.items():
            if key in instance:
                yield from iter_errors(subschema, instance[key], root, (*path, key))
    elif keyword == "additionalProperties":
        known = schema.get("properties", {})
        for key, item in instance.items():
            if key not in known:
                yield from iter_errors(value, item, root, (*path, key))


def _array(keyword, value, instance, root, path):
    if keyword == "items":
        if isinstance(value, dict) and value.keys() == {"type"} and isinstance(value["type"], str):
            check = _TYPES[value["type"]]  # fast path for long arrays of numbers (detector anchors)
            yield from (((*path, i), "type", value["type"], item) for i, item in enumerate(instance)
                        if not check(item))
            return
        for i, item in enumerate(instance):
            yield from iter_errors(value, item, root, (*path, i))
    elif (keyword == "minItems" and len(instance) < value) or (keyword == "maxItems" and len(instance) > value):
        yield path, keyword, value, instance


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node
