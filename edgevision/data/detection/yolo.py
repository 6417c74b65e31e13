"""YOLO txt labels (Darknet / Ultralytics): one `<image stem>.txt` per image, one line per
object: `class_id x_centre y_centre width height`, all fractions of the image size.

Layout: `images/` beside `labels/` (files paired by stem), or the .txt files next to the images.
The class list, one name per line, is `classes.txt` or `obj.names`, or the `names` of a
`data.yaml` / `dataset.yaml` (list or {id: name} mapping). An image without a label file has no
objects; a label id beyond the class list is a UserError (the list does not match the labels).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from edgevision.data.images import IMAGE_EXTENSIONS
from edgevision.errors import UserError

NAME_FILES = ("classes.txt", "obj.names")
YAML_FILES = ("data.yaml", "dataset.yaml")


def looks_like(path: Path) -> bool:
    if not path.is_dir():
        return False
    has_names = any((path / n).is_file() for n in NAME_FILES + YAML_FILES)
    return has_names and ((path / "labels").is_dir() or any(p.name not in NAME_FILES for p in path.glob("*.txt")))


def read(path: Path, class_names=None):
    """(class names, records, faults) from a YOLO folder."""
    from edgevision.data.detection.records import Record

    names = list(class_names) if class_names is not None else read_class_list(path)
    image_dir = path / "images" if (path / "images").is_dir() else path
    label_dir = path / "labels" if (path / "labels").is_dir() else path
    images = {p.stem: p for p in sorted(image_dir.rglob("*")) if p.suffix.lower() in IMAGE_EXTENSIONS}
    labels = {p.stem: p for p in sorted(label_dir.rglob("*.txt")) if p.name not in NAME_FILES}
    faults = Counter()
    records = []
    for stem in sorted(set(images) | set(labels)):
        boxes, classes = [], []
        if stem in labels:
            for number, line in enumerate(labels[stem].read_text(encoding="utf-8").splitlines(), start=1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    class_id, xc, yc, w, h = int(fields[0]), *map(float, fields[1:5])
                    if len(fields) < 5:
                        raise ValueError
                except ValueError:
                    faults["malformed"] += 1
                    continue
                if not 0 <= class_id < len(names):
                    raise UserError(
                        f"{labels[stem]} line {number}: class id {class_id} but the class list has {len(names)} "
                        f"name(s): fix the label or add the missing names to {_names_file(path)}"
                    )
                boxes.append([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2])
                classes.append(class_id)
        image = images.get(stem, image_dir / f"{stem}.jpg")
        records.append(Record(image, np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64), True))
    return names, records, faults


def read_class_list(path: Path) -> list[str]:
    for name in NAME_FILES:
        if (path / name).is_file():
            return [line.strip() for line in (path / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    import yaml

    for name in YAML_FILES:
        if (path / name).is_file():
            try:
                data = yaml.safe_load((path / name).read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise UserError(f"{path / name} is not valid YAML ({exc.__class__.__name__}): fix the file") from exc
            found = data.get("names") if isinstance(data, dict) else None
            if isinstance(found, dict):
                return [str(found[k]) for k in sorted(found)]
            if isinstance(found, list):
                return [str(n) for n in found]
            raise UserError(f"{path / name} has no `names` list: add the class names in label-id order")
    raise UserError(f"YOLO folder {path} has no classes.txt, obj.names or data.yaml: add the class names")


def _names_file(path: Path) -> str:
    for name in NAME_FILES + YAML_FILES:
        if (path / name).is_file():
            return str(path / name)
    return str(path / "classes.txt")
