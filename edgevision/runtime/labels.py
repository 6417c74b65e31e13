"""Label files as users download them, lined up with a model's output indices.

Four forms are read: one label a line (`cat`), the same with a leading `background` line
(TF-slim / Coral ImageNet files with 1001 lines), `index label` pairs (`17 cat`, also
`17: cat` or `17,cat`), possibly with gaps, as detection label maps have, and the TF Object
Detection API's text label map (`item { id: 1 name: 'Abyssinian' }`, `display_name` preferred
when present, ids from 1: id 0 is the implicit background).
"""

from __future__ import annotations

import re
from pathlib import Path

from edgevision.errors import UserError

_INDEXED = re.compile(r"^\s*(\d+)\s*[:,\s]\s*(.*?)\s*$")
_ITEM = re.compile(r"\bitem\s*\{")
_QUOTED = r"(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")"
_FIELDS = {key: re.compile(rf"(?<![\w.]){key}\s*:\s*{_QUOTED}") for key in ("name", "display_name")}
_ID = re.compile(r"(?<![\w.])id\s*:\s*(-?\d+)")
BACKGROUND = ("background", "__background__", "???")


def read_labels(path) -> list[str]:
    """Labels by index. Gaps of an `index label` file are filled with the index as text."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such label file: check the --labels path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not a readable UTF-8 label file ({exc}): pass a text file, one label a line") from None
    return parse_labels(text, path)


def parse_labels(text: str, name="labels") -> list[str]:
    if _ITEM.search(text):
        return parse_label_map(text, name)
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise UserError(f"{name} holds no labels: pass a text file, one label a line")
    matches = [_INDEXED.match(line) for line in lines if line]
    if all(m and m.group(2) for m in matches):
        indexed = {int(m.group(1)): m.group(2) for m in matches}
        if len(indexed) != len(matches):
            raise UserError(f"{name} gives some index twice: keep one `index label` line per index")
        return [indexed.get(i, str(i)) for i in range(max(indexed) + 1)]
    return lines


def parse_label_map(text: str, name="labels") -> list[str]:
    """A TF Object Detection API `.pbtxt` label map -> labels by id, index 0 "background" unless given.

    Gaps are filled with the id as text, so the model's class index k (0-based, foreground)
    reads the map's id k + 1 once `detection_labels` drops the background.
    """
    found = {}
    for block in _item_blocks(text, name):
        ident = _ID.search(block)
        label = next((m for m in (_FIELDS["display_name"].search(block), _FIELDS["name"].search(block)) if m), None)
        if ident is None or label is None:
            raise UserError(f"{name}: an `item {{...}}` lacks an id or a name: each item needs `id: N` and `name: '...'`")
        index = int(ident.group(1))
        if index < 0:
            raise UserError(f"{name}: item id {index} is negative: label map ids start at 1")
        if index in found:
            raise UserError(f"{name} gives id {index} twice: keep one item per id")
        found[index] = _unescape(label.group(1) if label.group(1) is not None else label.group(2))
    if not found:
        raise UserError(f"{name} holds no labels: pass a label map with `item {{ id: 1 name: '...' }}` entries")
    labels = [found.get(i, str(i)) for i in range(max(found) + 1)]
    if 0 not in found:
        labels[0] = "background"
    return labels


def _item_blocks(text: str, name) -> list[str]:
    """The bodies of the top-level `item { ... }` blocks (braces inside quotes or comments ignored)."""
    text = re.sub(r"#[^\n]*", "", text)
    blocks, pos = [], 0
    while (match := _ITEM.search(text, pos)) is not None:
        depth, i, quote = 1, match.end(), None
        while i < len(text) and depth:
            ch = text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            i += 1
        if depth:
            raise UserError(f"{name}: an `item {{` is never closed: check the label map's braces")
        blocks.append(_strip_nested(text[match.end():i - 1]))
        pos = i
    return blocks


def _strip_nested(body: str) -> str:
    """An item's own fields only: nested messages (e.g. `keypoints { id: 0 ... }`) removed."""
    while (inner := re.search(r"\{[^{}]*\}", body)) is not None:
        body = body[:inner.start()] + body[inner.end():]
    return body


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value).strip()


def has_background(labels: list[str]) -> bool:
    return bool(labels) and labels[0].strip().lower() in BACKGROUND


def align_labels(labels: list[str], num_outputs: int) -> list[str]:
    """Labels for output indices 0..num_outputs-1 of a classifier.

    A 1001-output model (index 0 = background) with a 1000-line file gets "background" put
    in front; a 1000-output model with a 1001-line file starting with background loses it.
    Any other mismatch pads with the index as text (or truncates) rather than shifting.
    """
    if len(labels) == num_outputs:
        return list(labels)
    if len(labels) == num_outputs - 1 and not has_background(labels):
        return ["background", *labels]
    if len(labels) == num_outputs + 1 and has_background(labels):
        return list(labels[1:])
    return [*labels[:num_outputs], *(str(i) for i in range(len(labels), num_outputs))]


def detection_labels(labels: list[str]) -> list[str]:
    """Labels for a detector's foreground class ids (0-based): a leading background line is dropped."""
    return list(labels[1:]) if has_background(labels) else list(labels)


def label_for(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else str(index)
