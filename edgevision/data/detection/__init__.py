"""Detection datasets: COCO JSON, Pascal VOC XML, YOLO txt and `synthetic:shapes-det`, one format.

Every reader turns its files into `Record`s (image path, boxes, class ids); `scan` then decodes
each image once, clips boxes to the image, drops zero-area boxes, boxes of unknown classes and
missing or unusable images, counts these faults in ONE warning line (they never stop training)
and splits the images 80/10/10 with a seed, or respects the split sub-folders that are datasets of
the same format: `train/`, `val/` (or `valid/`, `validation/`), `test/`, the folder names image
folders accept (`folders.SPLIT_FOLDERS`), so a Roboflow export (XML or YOLO files beside the
images) reads as it is; a missing `val/` or `test/` is carved out of `train/`.
`load_detection` returns one split as arrays:

    images uint8 [N, H, W, 3] RGB; boxes: N float32 arrays [K, 4] of [xmin, ymin, xmax, ymax]
    in pixels of the returned (resized) image; classes: N int64 arrays [K] indexing class_names

Class ids start at 0 for the first object class; the model's background class is not here.
Needs numpy and OpenCV only.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgevision.data.detection.records import DetectionData, Record
from edgevision.data.folders import SPLIT_FOLDERS, find_split_folder
from edgevision.data.images import BadImage, as_size, read_image, resize
from edgevision.errors import UserError

SPLITS = tuple(SPLIT_FOLDERS)  # train, val, test
SPLIT = (0.8, 0.1, 0.1)
FORMATS_HELP = (
    "pass a COCO .json file, a Pascal VOC folder (Annotations/*.xml), a YOLO folder "
    "(labels/*.txt + classes.txt or data.yaml) or synthetic:shapes-det"
)
FAULT_WORDS = {
    "clipped": "box(es) clipped to the image",
    "zero_area": "zero-area box(es) dropped",
    "unknown_class": "box(es) of unknown classes dropped",
    "malformed": "malformed annotation line(s) dropped",
    "missing_image": "missing image file(s) skipped",
    "bad_image": "unusable image file(s) skipped",
}


@dataclass
class DetectionSet:
    class_names: list[str]
    # split -> records with boxes in pixels of the original image, clipped and checked
    splits: dict[str, list[Record]]
    faults: Counter = field(default_factory=Counter)

    def load(self, split: str, size=None, limit=None) -> DetectionData:
        records = self.splits[split][: None if limit is None else int(limit)]
        images, boxes = [], []
        for record in records:
            image = read_image(record.path)
            scale = np.ones(4, np.float32)
            if size is not None:
                scale = np.array([size[1] / image.shape[1], size[0] / image.shape[0]] * 2, np.float32)
                image = resize(image, size)
            images.append(image)
            boxes.append(record.boxes * scale)
        if size is None and len({im.shape for im in images}) > 1:
            raise UserError("the images have different sizes: pass image_size (e.g. 320) to load them")
        stacked = np.stack(images) if images else np.zeros((0, *(size or (1, 1)), 3), np.uint8)
        return DetectionData(stacked, boxes, [r.classes for r in records], list(self.class_names))


def load_detection(source, split, image_size=None, seed=0, limit=None) -> DetectionData:
    """One split of a detection source (see the module docstring); image_size N or (H, W) resizes
    (bilinear, boxes scaled with the pixels); limit: at most this many images."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    size = as_size(image_size)
    from edgevision.data.detection import synthetic

    if synthetic.is_detection_synthetic(source):
        return synthetic.generate(source, split, size or synthetic.NATIVE_SIZE, seed, limit)
    return scan(source, seed).load(split, size, limit)


def is_detection_source(source) -> bool:
    """True for synthetic:shapes-det[:N]; folders and files are told apart by `scan`."""
    from edgevision.data.detection import synthetic

    return synthetic.is_detection_synthetic(source)


_SCANNED: dict[tuple[str, int], DetectionSet] = {}


def scan(source, seed: int = 0, warn=True) -> DetectionSet:
    """Read, check and split a detection dataset on disk; cached per (path, seed)."""
    root = Path(source).expanduser().resolve()
    key = (str(root), int(seed))
    if key in _SCANNED:
        return _SCANNED[key]
    if not root.exists():
        raise UserError(f"detection data {root} does not exist: {FORMATS_HELP}")
    split_roots = {}
    if root.is_dir():
        found = {name: find_split_folder(root, name) for name in SPLITS}
        split_roots = {name: folder for name, folder in found.items() if folder is not None}
    faults = Counter()
    if "train" in split_roots and _detect_format(split_roots["train"], quiet=True) is not None:
        class_names, records = read_records(split_roots["train"], faults=faults)
        splits = {"train": _checked(records, faults)}
        for name in ("val", "test"):
            if name in split_roots:
                _, more = read_records(split_roots[name], class_names, faults)
                splits[name] = _checked(more, faults)
        carved = _seeded_split(splits["train"], seed)
        for name in ("val", "test"):
            if name not in splits:
                splits[name] = carved[name]
                taken = {id(r) for r in carved[name]}
                splits["train"] = [r for r in splits["train"] if id(r) not in taken]
    else:
        class_names, records = read_records(root, faults=faults)
        splits = _seeded_split(_checked(records, faults), seed)
    if not splits["train"]:
        raise UserError(f"detection data {root} has no usable annotated image: {FORMATS_HELP}")
    dataset = DetectionSet(list(class_names), splits, faults)
    if warn and describe_faults(faults):
        print(f"edgevision: warning: detection data {root}: {describe_faults(faults)}", file=sys.stderr)
    _SCANNED[key] = dataset
    return dataset


def describe_faults(faults: Counter) -> str:
    return ", ".join(f"{faults[k]} {words}" for k, words in FAULT_WORDS.items() if faults.get(k))


def read_records(path: Path, class_names=None, faults: Counter | None = None):
    """(class names, records) of a dataset in any supported format; reader faults added to `faults`."""
    from edgevision.data.detection import coco, voc, yolo

    kind = _detect_format(path)
    reader = {"coco": coco.read, "voc": voc.read, "yolo": yolo.read}[kind]
    names, records, reader_faults = reader(path, class_names)
    if faults is not None:
        faults.update(reader_faults)
    if class_names is not None and list(names) != list(class_names):
        # a val/test split maps its names onto the train split's class list
        index = {name: i for i, name in enumerate(class_names)}
        for record in records:
            record.classes = np.array([index.get(names[c], -1) if c >= 0 else -1 for c in record.classes], np.int64)
        names = class_names
    return names, records


def _detect_format(path: Path, quiet=False):
    from edgevision.data.detection import coco, voc, yolo

    for kind, module in (("coco", coco), ("voc", voc), ("yolo", yolo)):
        if module.looks_like(path):
            return kind
    if quiet:
        return None
    raise UserError(f"{path} is not a detection dataset: {FORMATS_HELP}")


def _checked(records, faults: Counter) -> list[Record]:
    """Decode every image once; boxes -> pixels, clipped to the image; faults counted, never raised."""
    kept = []
    for record in records:
        if not record.path.is_file():
            faults["missing_image"] += 1
            continue
        try:
            height, width = read_image(record.path).shape[:2]
        except BadImage:
            faults["bad_image"] += 1
            continue
        boxes = np.asarray(record.boxes, np.float32).reshape(-1, 4)
        classes = np.asarray(record.classes, np.int64).reshape(-1)
        if record.normalised:
            boxes = boxes * np.array([width, height, width, height], np.float32)
        known = classes >= 0
        faults["unknown_class"] += int((~known).sum())
        boxes, classes = boxes[known], classes[known]
        clipped = np.clip(boxes, 0, [width, height, width, height]).astype(np.float32)
        # a box is "clipped" when it reached outside the image (and still has area inside it)
        area = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
        valid = (clipped[:, 2] > clipped[:, 0]) & (clipped[:, 3] > clipped[:, 1]) & (area > 0)
        faults["zero_area"] += int((~valid).sum())
        faults["clipped"] += int((np.any(np.abs(clipped - boxes) > 1e-3, axis=1) & valid).sum())
        kept.append(Record(record.path, clipped[valid], classes[valid]))
    return kept


def _seeded_split(records, seed):
    order = np.random.default_rng(seed).permutation(len(records))
    shuffled = [records[i] for i in order]
    n = len(shuffled)
    n_val = max(1, round(n * SPLIT[1])) if n >= 3 else 0
    n_test = max(1, round(n * SPLIT[2])) if n >= 3 else 0
    return {
        "val": shuffled[:n_val],
        "test": shuffled[n_val : n_val + n_test],
        "train": shuffled[n_val + n_test :],
    }
