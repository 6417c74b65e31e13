"""Datasets: image folders and the built-in synthetic generator, behind one accessor.

`load_images(source, split)` is what export (calibration, evaluation) and bench (accuracy)
call; training reads the same arrays, so every stage sees identically decoded and resized
pixels (OpenCV bilinear). Needs numpy and OpenCV only, no TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

from edgevision.data import synthetic
from edgevision.data.images import as_size
from edgevision.errors import UserError

SPLITS = ("train", "val", "test")


def load_images(source, split, image_size=None, seed=0, limit=None):
    """(images uint8 [N, H, W, 3] RGB, labels int64 [N], class_names) of one split of `source`.

    source: an image folder (one sub-folder per class, or train/ val/ test/ inside) or
    `synthetic:shapes[:N]` / `synthetic:pretext[:N]`; split: train | val | test; image_size: N or (H, W), bilinear
    resize (None: the synthetic native size, or the folder's common image size); seed: the
    folder split / synthetic generator seed (train records it in the sidecar's extra["data"]);
    limit: at most this many images (a seeded mix of classes).
    """
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    size = as_size(image_size)
    if synthetic.is_synthetic(source):
        try:
            images, labels = synthetic.generate(source, split, size or synthetic.NATIVE_SIZE, seed, limit)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
        return images, labels, list(synthetic.class_names(source))
    from edgevision.data import folders

    dataset = folders.scan(Path(source), seed)
    images, labels = dataset.load(split, size, limit)
    return images, labels, list(dataset.class_names)


def describe_source(source) -> str:
    """What the sidecar records: the synthetic name as is, a folder as an absolute path."""
    return source if synthetic.is_synthetic(source) else str(Path(source).expanduser().resolve())

