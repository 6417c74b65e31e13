"""Short test videos and image folders: a camera-like pan over a real photo, or synthetic frames."""

from pathlib import Path

import cv2
import numpy as np


def pan_frames(photo: Path, count: int, size=(640, 360)):
    """`count` frames panning and zooming slowly across `photo`, as a hand-held camera would."""
    image = cv2.imread(str(photo))
    h, w = image.shape[:2]
    frames = []
    for i in range(count):
        t = i / max(count - 1, 1)
        crop_w = int(w * (0.8 - 0.1 * t))
        crop_h = crop_w * h // w
        x0 = int((w - crop_w) * t)
        y0 = int((h - crop_h) * (0.5 + 0.3 * np.sin(2 * np.pi * t)) / 1.3)
        frames.append(cv2.resize(image[y0:y0 + crop_h, x0:x0 + crop_w], size, interpolation=cv2.INTER_AREA))
    return frames


def fit_frame(photo: Path, size=(640, 360)):
    """`photo` letterboxed onto a black frame of `size` (width, height)."""
    image = cv2.imread(str(photo))
    scale = min(size[0] / image.shape[1], size[1] / image.shape[0])
    resized = cv2.resize(image, (int(image.shape[1] * scale), int(image.shape[0] * scale)))
    frame = np.zeros((size[1], size[0], 3), np.uint8)
    y0, x0 = (size[1] - resized.shape[0]) // 2, (size[0] - resized.shape[1]) // 2
    frame[y0:y0 + resized.shape[0], x0:x0 + resized.shape[1]] = resized
    return frame


def synthetic_frames(count: int, size=(320, 240)):
    """Frames with a gradient background and a moving square (no photo needed)."""
    w, h = size
    ramp = np.linspace(0, 255, w, dtype=np.uint8)
    frames = []
    for i in range(count):
        frame = np.dstack([np.tile(ramp, (h, 1)), np.full((h, w), 40 + 5 * i % 200, np.uint8),
                           np.tile(ramp[::-1], (h, 1))]).copy()
        x = (i * 7) % (w - 40)
        frame[60:100, x:x + 40] = (0, 255, 255)
        frames.append(frame)
    return frames


def write_video(path: Path, frames, fps: float = 15.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), f"cannot write {path}"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def read_video(path: Path):
    """(frame count, (width, height)) of a video, by decoding every frame."""
    capture = cv2.VideoCapture(str(path))
    count, size = 0, None
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        size = (frame.shape[1], frame.shape[0])
    capture.release()
    return count, size
