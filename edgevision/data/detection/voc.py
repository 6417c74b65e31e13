"""Pascal VOC XML: one `<annotation>` file per image, objects with `<name>` and `<bndbox>` (xmin,
ymin, xmax, ymax in pixels).

Layout: `Annotations/*.xml` beside `JPEGImages/` (the VOC devkit), or the XML files next to the
images. The class list is `labels.txt` / `classes.txt` in the folder when present (objects of
other names are counted as unknown classes), otherwise every name found, sorted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np

from edgevision.errors import UserError

CLASS_FILES = ("labels.txt", "classes.txt")


def looks_like(path: Path) -> bool:
    return path.is_dir() and ((path / "Annotations").is_dir() or any(path.glob("*.xml")))


def read(path: Path, class_names=None):
    """(class names, records, faults) from a VOC folder."""
    from edgevision.data.detection.records import Record

    folder = path / "Annotations" if (path / "Annotations").is_dir() else path
    xml_files = sorted(folder.glob("*.xml"))
    if not xml_files:
        raise UserError(f"VOC folder {path} has no XML annotation in {folder}: add Annotations/*.xml files")
    faults = Counter()
    parsed = []
    for xml_file in xml_files:
        try:
            root = ET.parse(xml_file).getroot()
        except ET.ParseError:
            faults["malformed"] += 1
            continue
        filename = (root.findtext("filename") or xml_file.stem + ".jpg").strip()
        objects = []
        for obj in root.iter("object"):
            box = obj.find("bndbox")
            try:
                coords = [float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
            except (AttributeError, TypeError, ValueError):
                faults["malformed"] += 1
                continue
            objects.append(((obj.findtext("name") or "").strip(), coords))
        parsed.append((_image_path(path, xml_file, filename), objects))
    names = list(class_names) if class_names is not None else _class_list(path, parsed)
    index = {name: i for i, name in enumerate(names)}
    records = [
        Record(
            image,
            np.array([coords for _, coords in objects], np.float32).reshape(-1, 4),
            np.array([index.get(name, -1) for name, _ in objects], np.int64),
        )
        for image, objects in parsed
    ]
    return names, records, faults


def _image_path(root: Path, xml_file: Path, filename: str) -> Path:
    for folder in (root / "JPEGImages", xml_file.parent, root):
        if (folder / filename).is_file():
            return folder / filename
    return root / "JPEGImages" / filename


def _class_list(root: Path, parsed) -> list[str]:
    for name in CLASS_FILES:
        if (root / name).is_file():
            return [line.strip() for line in (root / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted({name for _, objects in parsed for name, _ in objects if name})
