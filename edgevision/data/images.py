"""Reading image files the one way training, export and bench all use: checked, RGB, bilinear.

`read_image` refuses what it cannot trust (zero-byte, truncated, not an image) with a short
reason instead of handing a half-decoded picture to training; grayscale, RGBA and 16-bit
files come back as 8-bit RGB. `resize` is OpenCV bilinear (`INTER_LINEAR`, half-pixel
centres), the same call the runtime's pre-processing makes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


class BadImage(ValueError):
    """A file that is not a usable image; the message is the reason (e.g. "truncated")."""


def read_image(path) -> np.ndarray:
    """The image at `path` as uint8 RGB [H, W, 3]; BadImage with the reason when unusable."""
    import cv2

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadImage(f"unreadable: {exc.strerror or exc}") from exc
    if not data:
        raise BadImage("zero bytes")
    if data[:3] == b"\xff\xd8\xff" and b"\xff\xd9" not in data[-4096:]:
        raise BadImage("truncated JPEG")
    if data[:8] == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-64:]:
        raise BadImage("truncated PNG")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # gray/RGBA/16-bit -> 8-bit BGR
    if image is None or image.size == 0:
        raise BadImage("not an image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resize(image: np.ndarray, size) -> np.ndarray:
    """Bilinear resize of an RGB image to `size` = (height, width) (no-op when already that size)."""
    import cv2

    height, width = size
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def as_size(image_size) -> tuple[int, int] | None:
    """None, N or (H, W) -> None or (H, W)."""
    if image_size is None:
        return None
    if isinstance(image_size, int | np.integer):
        return int(image_size), int(image_size)
    height, width = image_size
    return int(height), int(width)
