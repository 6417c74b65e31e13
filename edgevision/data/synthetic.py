"""`synthetic:shapes`: a procedurally generated classification dataset, no download needed.

Each image holds one filled shape (circle, square, triangle or star) of a random colour,
size, position and rotation on a varied background (flat colour, linear gradient, smooth
noise or clutter of thin lines and dots), plus sensor-like noise and sometimes blur.
Everything is drawn with numpy and OpenCV from one random generator per image, seeded by
(seed, split, index): the same seed always gives the same images, the three splits never
share an image, and asking for fewer images (`limit`) gives a prefix of the same sequence.

The source string is `synthetic:shapes` (default sizes below) or `synthetic:shapes:N` for
N images in total, split 80/10/10.

`synthetic:pretext[:N]` draws eight other shapes, none of them a circle, square, triangle or
star, on the same backgrounds: `tools/pretrain_backbone.py` pretrains the demo backbone on it
(standing in for ImageNet, which cannot be downloaded on the build machines), so fine-tuning
on `synthetic:shapes` is real transfer to classes the backbone never saw.
"""

from __future__ import annotations

import numpy as np

CLASSES = ("circle", "square", "triangle", "star")
PRETEXT_CLASSES = ("pentagon", "hexagon", "rhombus", "cross", "arrow", "ellipse", "ring", "semicircle")
DATASETS = {"synthetic:shapes": CLASSES, "synthetic:pretext": PRETEXT_CLASSES}
NATIVE_SIZE = 96
DEFAULT_TOTAL = 3000
SPLITS = ("train", "val", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def is_synthetic(source) -> bool:
    return isinstance(source, str) and source.startswith("synthetic:")


def parse_source(source: str) -> tuple[str, int]:
    """`synthetic:shapes[:N]` or `synthetic:pretext[:N]` -> (dataset name, total image count N).

    ValueError for anything else."""
    if source in DATASETS:
        return source, DEFAULT_TOTAL
    head, _, count = source.rpartition(":")
    if head in DATASETS and count.isdigit() and int(count) >= 30:
        return head, int(count)
    if source.startswith("synthetic:shapes-det"):
        raise ValueError(f"{source} is a detection dataset: train on it with --task detect, or use synthetic:shapes")
    raise ValueError(f"unknown synthetic dataset {source!r}: use synthetic:shapes[:N] or synthetic:pretext[:N] (N >= 30)")


def class_names(source: str) -> tuple[str, ...]:
    return DATASETS[parse_source(source)[0]]


def split_count(source: str, split: str) -> int:
    total = parse_source(source)[1]
    train, val = int(round(total * SPLIT_FRACTIONS[0])), int(round(total * SPLIT_FRACTIONS[1]))
    return {"train": train, "val": val, "test": total - train - val}[split]


def generate(source: str, split: str, size=NATIVE_SIZE, seed: int = 0, limit: int | None = None):
    """Images uint8 [N, H, W, 3] RGB and labels int64 [N] of one split; classes are balanced in turn."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    count = split_count(source, split)
    if limit is not None:
        count = min(count, int(limit))
    split_id = SPLITS.index(split)
    classes = class_names(source)
    images = np.empty((count, height, width, 3), np.uint8)
    labels = np.empty(count, np.int64)
    for i in range(count):
        rng = np.random.default_rng([int(seed), split_id, i])
        labels[i] = i % len(classes)
        images[i] = draw_example(rng, classes[labels[i]], height, width)
    return images, labels


def draw_example(rng: np.random.Generator, shape: str, height: int, width: int) -> np.ndarray:
    """One RGB image of `shape`; positions and sizes are relative, so any size works."""
    image = background(rng, height, width)
    side = min(height, width)
    radius = side * rng.uniform(0.16, 0.34)
    cx = rng.uniform(radius * 0.9, width - radius * 0.9)
    cy = rng.uniform(radius * 0.9, height - radius * 0.9)
    colour = contrasting_colour(rng, image, cx, cy, radius)
    angle = rng.uniform(0, 2 * np.pi)
    draw_shape(image, shape, cx, cy, radius, angle, colour)
    return sensor_noise(rng, image)


def draw_shape(image, shape: str, cx: float, cy: float, radius: float, angle: float, colour) -> np.ndarray:
    """Draw one filled, anti-aliased `shape` in place; its exact box [xmin, ymin, xmax, ymax] in pixels."""
    import cv2

    shift = 4  # sub-pixel precision for cv2 drawing
    scale = 1 << shift
    if shape in ("circle", "ring"):
        thickness = -1 if shape == "circle" else max(2, int(radius * 0.3))
        cv2.circle(image, (int(cx * scale), int(cy * scale)), int(radius * scale), colour, thickness, cv2.LINE_AA, shift)
        return np.array([cx - radius, cy - radius, cx + radius, cy + radius], np.float32)
    if shape in ("ellipse", "semicircle"):
        axes = (radius, radius * 0.5) if shape == "ellipse" else (radius, radius)
        span = 360 if shape == "ellipse" else 180
        outline = cv2.ellipse2Poly((0, 0), (1000, 1000), 0, 0, span, 5).astype(np.float64) / 1000 * axes
        points = _placed(outline, cx, cy, angle)
    else:
        points = _polygon(shape, cx, cy, radius, angle)
    cv2.fillPoly(image, [np.round(points * scale).astype(np.int32)], colour, cv2.LINE_AA, shift)
    return np.array([*points.min(axis=0), *points.max(axis=0)], np.float32)


def sensor_noise(rng: np.random.Generator, image: np.ndarray) -> np.ndarray:
    """Sometimes a slight blur, always some Gaussian pixel noise."""
    import cv2

    if rng.random() < 0.3:
        k = 3 if min(image.shape[:2]) < 128 else 5
        image = cv2.GaussianBlur(image, (k, k), 0)
    noise = rng.standard_normal(image.shape, dtype=np.float32) * np.float32(rng.uniform(0, 10))
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _polygon(shape: str, cx: float, cy: float, radius: float, angle: float) -> np.ndarray:
    regular = {"square": 4, "triangle": 3, "pentagon": 5, "hexagon": 6}
    if shape in regular:
        n = regular[shape]
        angles, radii = angle + np.arange(n) * 2 * np.pi / n, np.full(n, radius * (0.9 if n == 4 else 1.0))
    elif shape == "rhombus":
        angles, radii = angle + np.arange(4) * np.pi / 2, radius * np.array([1.0, 0.5, 1.0, 0.5])
    elif shape in ("cross", "arrow"):
        return _placed((_CROSS if shape == "cross" else _ARROW) * radius, cx, cy, angle)
    else:  # five-pointed star
        angles = angle + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, radius, radius * 0.42)
    return np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], axis=1)


def _placed(outline: np.ndarray, cx: float, cy: float, angle: float) -> np.ndarray:
    """An outline [K, 2] around (0, 0), rotated by `angle` and moved to (cx, cy)."""
    c, s = np.cos(angle), np.sin(angle)
    x, y = outline[:, 0], outline[:, 1]
    return np.stack([cx + x * c - y * s, cy + x * s + y * c], axis=1)


_CROSS = np.array([(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1),
                   (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)], np.float64)
_ARROW = np.array([(-1, -0.25), (0.2, -0.25), (0.2, -0.7), (1, 0), (0.2, 0.7), (0.2, 0.25), (-1, 0.25)], np.float64)


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    import cv2

    kind = rng.integers(4)
    a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    if kind == 0:  # flat colour
        image = np.broadcast_to(a, (height, width, 3)).astype(np.float64)
    elif kind == 1:  # linear gradient in a random direction
        theta = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:height, 0:width]
        t = (xx / max(width - 1, 1)) * np.cos(theta) + (yy / max(height - 1, 1)) * np.sin(theta)
        t = (t - t.min()) / max(t.max() - t.min(), 1e-6)
        image = a + (b - a) * t[..., None]
    elif kind == 2:  # smooth colour noise
        coarse = rng.uniform(0, 255, (rng.integers(3, 8), rng.integers(3, 8), 3)).astype(np.float32)
        image = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float64)
    else:  # clutter: thin lines and small dots, much smaller than any shape
        image = np.broadcast_to(a, (height, width, 3)).astype(np.float64).copy()
        side = min(height, width)
        for _ in range(rng.integers(3, 9)):
            p1 = (int(rng.integers(width)), int(rng.integers(height)))
            p2 = (int(rng.integers(width)), int(rng.integers(height)))
            cv2.line(image, p1, p2, tuple(float(c) for c in rng.uniform(0, 255, 3)), 1, cv2.LINE_AA)
        for _ in range(rng.integers(3, 12)):
            centre = (int(rng.integers(width)), int(rng.integers(height)))
            r = max(1, int(side * rng.uniform(0.01, 0.03)))
            cv2.circle(image, centre, r, tuple(float(c) for c in rng.uniform(0, 255, 3)), -1, cv2.LINE_AA)
    return np.ascontiguousarray(np.clip(image, 0, 255).astype(np.uint8))


def contrasting_colour(rng, image, cx, cy, radius):
    """A random colour far enough from the background under the shape to be seen."""
    h, w = image.shape[:2]
    y0, y1 = int(max(cy - radius, 0)), int(min(cy + radius, h)) + 1
    x0, x1 = int(max(cx - radius, 0)), int(min(cx + radius, w)) + 1
    local = image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
    best, best_distance = None, -1.0
    for _ in range(20):
        colour = rng.uniform(0, 255, 3)
        distance = float(np.linalg.norm(colour - local))
        if distance > 120:
            return tuple(float(c) for c in colour)
        if distance > best_distance:
            best, best_distance = colour, distance
    return tuple(float(c) for c in best)
