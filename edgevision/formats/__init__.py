"""The files edgevision writes, each described once as a JSON Schema (draft 2020-12) shipped here.

    sidecar        <model>.json next to .keras/.tflite/.onnx files (and embedded in them)
    metrics        metrics.json in a training run folder
    export_report  export_report.json in an export folder
    bench          bench.json in a bench report folder (one device, or --compare's merge)
    run_metrics    the summary of `edgevision run` (--metrics FILE, --json, /stats.json of --serve)

    from edgevision import formats
    formats.validate("bench", json.loads(text), source="pi4/bench.json")   # UserError if malformed

`validate` uses the `jsonschema` library when it is installed (the [dev] extra) and the small
checker in `formats.checker` otherwise; the runtime reads model descriptions with that checker
always (no compiled dependency on a Pi, and fast enough for every model load). Tests prove both
give the same one-line answer. Keys are added to these files, never renamed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from edgevision.errors import UserError
from edgevision.formats import checker

# kind -> what fixes a malformed file of that kind
KINDS = {
    "sidecar": "re-export the model with `edgevision export`",
    "metrics": "train again with `edgevision train` to rewrite it",
    "export_report": "export again with `edgevision export` to rewrite it",
    "bench": "pass a bench.json written by `edgevision bench --report DIR`",
    "run_metrics": "run again with `edgevision run --model MODEL --source SOURCE --metrics FILE` to rewrite it",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Which of several problems to name first (after the shallowest path).
_RANK = {"required": 0, "type": 1, "enum": 2, "const": 3}


def schema_file(kind: str):
    """The shipped schema file of `kind` (an importlib.resources Traversable)."""
    if kind not in KINDS:
        raise ValueError(f"unknown file kind {kind!r}: one of {', '.join(KINDS)}")
    return resources.files(__package__).joinpath(f"{kind}.schema.json")


@cache
def schema(kind: str) -> dict:
    return json.loads(schema_file(kind).read_text(encoding="utf-8"))


@cache
def _jsonschema_validator(kind: str):
    try:
        from jsonschema import Draft202012Validator
    except ImportError:
        return None
    return Draft202012Validator(schema(kind))


def errors(kind: str, document, engine: str = "auto") -> list[tuple]:
    """(path, keyword, what is wrong) for every constraint `document` breaks, shallowest path first.

    engine: "jsonschema", "builtin", or "auto" (jsonschema when installed)."""
    validator = _jsonschema_validator(kind) if engine in ("auto", "jsonschema") else None
    if validator is None and engine == "jsonschema":
        raise ImportError("jsonschema is not installed")
    if validator is not None:
        found = [(tuple(e.absolute_path), e.validator, e.validator_value, e.instance, e.message)
                 for e in validator.iter_errors(document)]
    else:
        found = [(*error, None) for error in checker.iter_errors(schema(kind), document)]
    unique = {}
    for path, keyword, value, instance, message in found:
        detail = _describe(keyword, value, instance, message)
        unique.setdefault((path, keyword, detail), (path, keyword, detail))
    return sorted(unique.values(), key=lambda e: ([(isinstance(p, str), p) for p in e[0]], _RANK.get(e[1], 9), e[2]))


def problem(kind: str, document, engine: str = "auto") -> str | None:
    """The first thing wrong with `document` as one phrase (`$.results[0] lacks format`), or None."""
    found = errors(kind, document, engine)
    if not found:
        return None
    path, keyword, detail = found[0]
    if keyword == "required":  # name every key missing at that place at once
        missing = {key for p, k, d in found if p == path and k == "required" for key in d.split(", ")}
        detail = "lacks " + ", ".join(sorted(missing))
    return f"{json_path(path)} {detail}"


def validate(kind: str, document, source) -> None:
    """UserError (one line naming `source`, the JSON path and what is wrong) unless `document` is valid."""
    found = problem(kind, document)
    if found:
        title = schema(kind)["title"]
        raise UserError(f"{source} is not an {title} ({found}); {KINDS[kind]}")


def json_path(path) -> str:
    """("results", 0, "latency_ms") -> `$.results[0].latency_ms`."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _describe(keyword, value, instance, message) -> str:
    if keyword == "required":
        return ", ".join(k for k in value if k not in instance)
    if keyword == "type":
        wanted = " or ".join([value] if isinstance(value, str) else value)
        return f"is {_show(instance)}, not {wanted}"
    if keyword == "enum":
        return f"is {_show(instance)}, not one of {', '.join(json.dumps(v) for v in value)}"
    if keyword == "const":
        return f"is {_show(instance)}, expected {json.dumps(value)}"
    if keyword == "minimum":
        return f"is {instance}, below the minimum {value}"
    if keyword == "maximum":
        return f"is {instance}, above the maximum {value}"
    if keyword == "minItems":
        return f"has {len(instance)} item(s), needs at least {value}"
    if keyword == "maxItems":
        return f"has {len(instance)} items, at most {value} allowed"
    return f"breaks {keyword}: {message}"


def _show(value) -> str:
    """`a string ("2")`, `null`, `an array of 3`: what a reader needs to find the value."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value)}"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, int | float):
        kind = "a number"
    else:
        return f"a Python {type(value).__name__}"
    text = json.dumps(value)
    return f"{kind} ({text if len(text) <= 40 else text[:37] + '...'})"
