"""Images for calibration (int8) and evaluation (parity or mAP), pre-processed exactly as in training
(`runtime.preprocess.normalise`).

Calibration: N images (default 200) from `--calib-data DIR` or from the training split recorded
in the model's sidecar (`extra["data"]`), drawn balanced across classes for a classifier.
Evaluation: the validation split recorded in the sidecar, or `--eval-data DIR`. A classifier's
images come with their labels (`ImageSet`), a detector's with their boxes (`BoxedImages`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevision.errors import UserError
from edgevision.metadata import ModelInfo
from edgevision.runtime.preprocess import normalise


@dataclass
class ImageSet:
    images: np.ndarray  # uint8 [N, H, W, 3] in RGB
    labels: np.ndarray  # int [N], -1 when unknown
    class_names: list[str]
    origin: str  # where the images came from, for the report


def balanced_indices(labels: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Up to `count` indices taking classes in turn, each class in a seeded random order."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    picked, depth = [], 0
    while len(picked) < count and any(depth < len(p) for p in per_class):
        for members in per_class:
            if depth < len(members) and len(picked) < count:
                picked.append(members[depth])
        depth += 1
    return np.array(picked, dtype=int)


@dataclass
class BoxedImages:
    images: np.ndarray  # uint8 [N, H, W, 3] RGB at the model's input size
    boxes: list  # per image [K, 4] xmin, ymin, xmax, ymax pixels
    classes: list  # per image [K] class ids (no background)
    origin: str


def _recorded_source(info: ModelInfo, model_path, fix: str = "pass --calib-data DIR (and --eval-data DIR)"):
    """(source, seed) of the training data the sidecar records."""
    data = info.extra.get("data") or {}
    source = data.get("source")
    if not source:
        raise UserError(f"{Path(model_path).with_suffix('.json')} does not record the training data: {fix}")
    return str(source), int(data.get("seed", 0))


def _load(source: str, splits: tuple[str, ...], info: ModelInfo, seed: int, limit: int | None) -> ImageSet:
    """The named splits of an image folder or synthetic source, concatenated (UserError when empty)."""
    from edgevision.data import load_images

    parts, names = [], []
    for split in splits:
        images, labels, names = load_images(source, split, image_size=tuple(info.input_size), seed=seed, limit=limit)
        parts.append((np.asarray(images), np.asarray(labels)))
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if len(images) == 0:
        raise UserError(f"{source} holds no usable images: add images (one sub-folder per class)")
    where = f"{source} ({'+'.join(splits)})" if len(splits) < 3 else str(source)
    return ImageSet(images, labels, list(names), where)


def calibration_set(info: ModelInfo, model_path, calib_dir=None, count: int = 200) -> ImageSet:
    """`count` images balanced across classes for int8 calibration: all of `calib_dir`, else the
    recorded training split."""
    if calib_dir is not None:
        found = _load(str(calib_dir), ("train", "val", "test"), info, 0, None)
    else:
        source, seed = _recorded_source(info, model_path)
        found = _load(source, ("train",), info, seed, 4 * count)
    keep = balanced_indices(found.labels, count)
    return ImageSet(found.images[keep], found.labels[keep], found.class_names, found.origin)


def evaluation_set(info: ModelInfo, model_path, eval_dir=None, limit: int | None = None) -> ImageSet:
    """Held-out images for parity: all of `eval_dir`, else the recorded validation split."""
    if eval_dir is not None:
        found = _load(str(eval_dir), ("train", "val", "test"), info, 0, None)
    else:
        source, seed = _recorded_source(info, model_path)
        found = _load(source, ("val",), info, seed, limit)
    found = _align_labels(found, info)
    if limit is not None and len(found.images) > limit:
        keep = balanced_indices(found.labels, limit)
        found = ImageSet(found.images[keep], found.labels[keep], found.class_names, found.origin)
    return found


def _align_labels(found: ImageSet, info: ModelInfo) -> ImageSet:
    """Map folder class indices onto the model's label order; unknown classes get -1."""
    if list(found.class_names) == list(info.labels):
        return found
    position = {name: i for i, name in enumerate(info.labels)}
    labels = np.array([position.get(found.class_names[i], -1) for i in found.labels], dtype=int)
    return ImageSet(found.images, labels, list(info.labels), found.origin)


DETECTION_FIX = "pass --calib-data and --eval-data (a COCO, VOC or YOLO dataset)"


def _load_boxed(source: str, splits, info: ModelInfo, seed: int, limit: int | None) -> BoxedImages:
    """The first `limit` images of the named splits of a detection source, in the model's classes."""
    from edgevision.data.detection import load_detection

    images, boxes, classes = [], [], []
    for split in splits:
        left = None if limit is None else limit - sum(len(i) for i in images)
        if left is not None and left <= 0:
            break
        found = load_detection(source, split, tuple(info.input_size), seed, left)
        if list(found.class_names) != list(info.labels) and len(found.images):
            raise UserError(f"{source} has classes {found.class_names}, the model {info.labels}: "
                            "evaluate on data with the model's classes")
        images.append(np.asarray(found.images))
        boxes += list(found.boxes)
        classes += list(found.classes)
    images = np.concatenate(images) if images else np.zeros((0, *info.input_size, 3), np.uint8)
    if len(images) == 0:
        raise UserError(f"{source} holds no usable images for {'/'.join(splits)}: add annotated images")
    return BoxedImages(images, boxes, classes, f"{source} ({'+'.join(splits)})")


def boxed_evaluation_set(info: ModelInfo, model_path, eval_data=None, limit: int | None = None) -> BoxedImages:
    """A detector's held-out images and boxes: all of `eval_data`, else the recorded validation split."""
    if eval_data:
        return _load_boxed(str(eval_data), ("train", "val", "test"), info, 0, limit)
    source, seed = _recorded_source(info, model_path, DETECTION_FIX)
    return _load_boxed(source, ("val",), info, seed, limit)


def boxed_calibration_set(info: ModelInfo, model_path, calib_data=None, count: int = 200) -> BoxedImages:
    """A detector's calibration images: the first `count` of `calib_data`, else of the recorded training split."""
    if calib_data:
        return _load_boxed(str(calib_data), ("train", "val", "test"), info, 0, count)
    source, seed = _recorded_source(info, model_path, DETECTION_FIX)
    return _load_boxed(source, ("train",), info, seed, count)


def representative_dataset(images: np.ndarray, info: ModelInfo):
    """A TFLite `representative_dataset` callable yielding one normalised image at a time."""

    def generate():
        for image in images:
            yield [normalise(image[None], info)]

    return generate
