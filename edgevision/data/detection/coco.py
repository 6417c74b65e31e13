"""COCO object-detection JSON (`instances_*.json`): images, annotations (bbox x, y, w, h in
pixels), categories. Crowd annotations (iscrowd 1) are left out, as COCO evaluation ignores them.

Images are looked up relative to the JSON file's folder, its `images/` folder, or the parent
folder (`annotations/instances.json` beside `images/`); the first that holds the first image wins.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from edgevision.errors import UserError

REQUIRED = ("images", "annotations", "categories")


def looks_like(path: Path) -> bool:
    return find_json(path) is not None


def find_json(path: Path) -> Path | None:
    if path.is_file():
        return path if path.suffix.lower() == ".json" else None
    if not path.is_dir():
        return None
    candidates = sorted(path.glob("*.json")) + sorted((path / "annotations").glob("*.json"))
    return candidates[0] if len(candidates) == 1 else None


def read(path: Path, class_names=None):
    """(class names, records, faults) from a COCO JSON file, or a folder holding exactly one."""
    from edgevision.data.detection.records import Record

    json_path = find_json(path)
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{json_path} is not a COCO JSON file ({exc}): pass a COCO instances_*.json") from exc
    missing = [key for key in REQUIRED if not isinstance(data, dict) or not isinstance(data.get(key), list)]
    if missing:
        raise UserError(
            f"{json_path} lacks the COCO list(s) {', '.join(missing)}: pass a COCO object-detection "
            "file (images, annotations, categories)"
        )
    categories = sorted((c for c in data["categories"] if "id" in c), key=lambda c: c["id"])
    index = {c["id"]: i for i, c in enumerate(categories)}
    names = [str(c.get("name", c["id"])) for c in categories]
    images = {img["id"]: img for img in data["images"] if "id" in img and "file_name" in img}
    root = _image_root(json_path, [img["file_name"] for img in images.values()])
    boxes = {image_id: [] for image_id in images}
    classes = {image_id: [] for image_id in images}
    malformed = 0
    for ann in data["annotations"]:
        bbox = ann.get("bbox")
        if ann.get("image_id") not in images or not (isinstance(bbox, list) and len(bbox) == 4):
            malformed += 1
            continue
        if ann.get("iscrowd"):
            continue
        x, y, w, h = (float(v) for v in bbox)
        boxes[ann["image_id"]].append([x, y, x + w, y + h])
        classes[ann["image_id"]].append(index.get(ann.get("category_id"), -1))
    records = [
        Record(root / img["file_name"], np.array(boxes[i], np.float32).reshape(-1, 4), np.array(classes[i], np.int64))
        for i, img in images.items()
    ]
    return names, records, Counter(malformed=malformed)


def _image_root(json_path: Path, file_names) -> Path:
    folder = json_path.parent
    candidates = (folder, folder / "images", folder.parent / "images", folder.parent)
    if file_names:
        for candidate in candidates:
            if (candidate / file_names[0]).is_file():
                return candidate
    return folder

