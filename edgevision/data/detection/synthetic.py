"""`synthetic:shapes-det`: a generated detection dataset, boxes known exactly, no download.

Each image holds 1 to 4 filled shapes (circle, square, triangle, star; the classification
set's drawing code and backgrounds) of random size (radius 8-22 % of the shorter side),
position, rotation and colour, barely overlapping, then sensor-like noise and sometimes blur.
The box of each shape is computed from its geometry (circle: centre +- radius; polygons: the
extremes of their vertices). One random generator per image, seeded by (seed, split, index):
the same seed gives the same images, splits never share one, `limit` gives a prefix.

`synthetic:shapes-det` has DEFAULT_TOTAL images, `synthetic:shapes-det:N` N, split 80/10/10.
"""

from __future__ import annotations

import numpy as np

from edgevision.data import synthetic as shapes
from edgevision.errors import UserError

PREFIX = "synthetic:shapes-det"
CLASSES = shapes.CLASSES
NATIVE_SIZE = 160
DEFAULT_TOTAL = 2000
MAX_SHAPES = 4
RADIUS_RANGE = (0.08, 0.22)
MAX_OVERLAP = 0.15  # intersection over the smaller box


def is_detection_synthetic(source) -> bool:
    return isinstance(source, str) and (source == PREFIX or source.startswith(PREFIX + ":"))


def parse_source(source: str) -> int:
    if source == PREFIX:
        return DEFAULT_TOTAL
    count = source[len(PREFIX) + 1 :]
    if count.isdigit() and int(count) >= 10:
        return int(count)
    raise UserError(f"unknown synthetic dataset {source!r}: use synthetic:shapes-det or synthetic:shapes-det:N (N >= 10)")


def split_count(source: str, split: str) -> int:
    total = parse_source(source)
    train, val = int(round(total * 0.8)), int(round(total * 0.1))
    return {"train": train, "val": val, "test": total - train - val}[split]


def generate(source: str, split: str, size=NATIVE_SIZE, seed: int = 0, limit=None):
    """DetectionData (images, boxes, classes, class names) of one split at `size` (N or (H, W))."""
    from edgevision.data.detection.records import DetectionData

    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    count = split_count(source, split)
    if limit is not None:
        count = min(count, int(limit))
    split_id = shapes.SPLITS.index(split)
    images = np.empty((count, height, width, 3), np.uint8)
    boxes, classes = [], []
    for i in range(count):
        rng = np.random.default_rng([int(seed), split_id, i, 7])
        images[i], image_boxes, image_classes = draw_scene(rng, height, width)
        boxes.append(image_boxes)
        classes.append(image_classes)
    return DetectionData(images, boxes, classes, list(CLASSES))


def draw_scene(rng: np.random.Generator, height: int, width: int):
    """(image uint8 RGB, boxes float32 [K, 4] xmin, ymin, xmax, ymax pixels, classes int64 [K])."""
    image = shapes.background(rng, height, width)
    side = min(height, width)
    boxes, classes = [], []
    for _ in range(int(rng.integers(1, MAX_SHAPES + 1))):
        for _attempt in range(20):
            radius = side * rng.uniform(*RADIUS_RANGE)
            cx = rng.uniform(radius, width - radius)
            cy = rng.uniform(radius, height - radius)
            candidate = np.array([cx - radius, cy - radius, cx + radius, cy + radius])
            if all(_overlap(candidate, box) <= MAX_OVERLAP for box in boxes):
                break
        else:
            continue
        label = int(rng.integers(len(CLASSES)))
        colour = shapes.contrasting_colour(rng, image, cx, cy, radius)
        box = shapes.draw_shape(image, CLASSES[label], cx, cy, radius, rng.uniform(0, 2 * np.pi), colour)
        boxes.append(np.clip(box, 0, [width, height, width, height]))
        classes.append(label)
    image = shapes.sensor_noise(rng, image)
    return image, np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64)


def _overlap(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(iw * ih / smaller)
