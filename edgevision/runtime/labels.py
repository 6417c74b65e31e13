"""Label files as users download them, lined up with a model's output indices.

Three forms are read: one label a line (`cat`), the same with a leading `background` line
(TF-slim / Coral ImageNet files with 1001 lines), and `index label` pairs (`17 cat`, also
`17: cat` or `17,cat`), possibly with gaps, as detection label maps have.
"""

from __future__ import annotations

import re
from pathlib import Path

from edgevision.errors import UserError

_INDEXED = re.compile(r"^\s*(\d+)\s*[:,\s]\s*(.*?)\s*$")
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
