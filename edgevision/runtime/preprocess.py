"""The one pre-processing path: BGR frame -> model input tensor.

    prep = Preprocessor(input_spec, color_order="RGB", mean=..., std=..., letterbox=False, resize="bilinear")
    tensor, transform = prep(frame_bgr)     # transform maps model pixels back to the frame
    tensor, transform = prep(frame_rgb, color="rgb")   # PIL / RGB callers

Steps: resize (bilinear, nearest or area) or letterbox to the input size, reorder channels
(the frame's order, BGR unless told otherwise, to the model's), then map pixels to the input
through one 256-entry look-up table per channel (`normalise` is the same map for whole images,
as training, evaluation and int8 calibration apply it):

- float inputs: `(pixel - mean) / std` as float32, straight from uint8 (no intermediate);
- uint8/int8 inputs: `q = round((pixel - mean) / std / scale + zero_point)`, i.e. the real
  value the model expects, expressed in its own quantization. When that map is the identity
  (uint8: scale = 1/std, zero point = mean) pixels are fed as they are; when it is a shift by
  128 (int8: zero point = mean - 128) they are flipped in place. No float round trip at all.

The default resize filter is bilinear: on the shared 2-core x86 this project is built on, shrinking a
1280x720 frame to 224x224 took 0.14-0.2 ms bilinear and 6-21 ms with OpenCV's area filter
(`tools/bench_runtime.py`, README `## Runtime`), longer than a small int8 inference; the
top-1 answers on the reference photos are the same. "nearest" is PIL's `Image.NEAREST` pixel
for pixel (OpenCV's INTER_NEAREST_EXACT; plain INTER_NEAREST samples other pixels), which
pycoral's tests and published scores use; "area" is OpenCV's INTER_AREA.
Buffers are allocated once, so the returned tensor is overwritten by the next call.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from edgevision.metadata import COLOR_ORDERS

RESIZE_FILTERS = {"bilinear": cv2.INTER_LINEAR, "nearest": cv2.INTER_NEAREST_EXACT, "area": cv2.INTER_AREA}
COLORS = ("bgr", "rgb")


class Transform(NamedTuple):
    """Where the frame went in the model input: model pixel (x, y) -> frame pixel
    ((x - pad_x) / scale_x, (y - pad_y) / scale_y). Sizes are (width, height) pairs."""

    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float
    input_w: int
    input_h: int
    frame_w: int
    frame_h: int

    def boxes_to_frame(self, boxes_yxyx: np.ndarray) -> np.ndarray:
        """[N, 4] normalised (ymin, xmin, ymax, xmax) model boxes -> (xmin, ymin, xmax, ymax) frame pixels."""
        boxes = np.asarray(boxes_yxyx, np.float32).reshape(-1, 4)
        out = np.empty_like(boxes)
        out[:, 0::2] = (boxes[:, 1::2] * self.input_w - self.pad_x) / self.scale_x
        out[:, 1::2] = (boxes[:, 0::2] * self.input_h - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.frame_w, out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.frame_h, out=out[:, 1::2])
        return out


def scale_pixels(pixels, mean, std):
    """`(pixel - mean) / std` per channel (the last axis, in the model's order), in the precision of
    `pixels`: float64 numpy arrays for the look-up tables, float32 arrays or TensorFlow tensors otherwise."""
    dtype = np.float64 if getattr(pixels, "dtype", None) == np.float64 else np.float32
    return (pixels - np.asarray(mean, dtype)) / np.asarray(std, dtype)


def normalise(images, info):
    """RGB pixels [..., 3] -> the model's float32 input: channels in `info.color_order`, then
    `(pixel - mean) / std` with the description's mean and std (in the model's channel order).

    The one normalisation of training, evaluation and int8 calibration; the runtime's look-up
    tables hold the same map (computed in float64, so they differ by float32 rounding only).
    `images`: uint8 or float numpy arrays, or float32 TensorFlow tensors (a tf.data pipeline after
    augmentation, whose pixels are no longer whole numbers): indexing and arithmetic only, no TensorFlow here.
    """
    pixels = images.astype(np.float32) if isinstance(images, np.ndarray) else images
    if info.color_order.upper() == "BGR":
        pixels = pixels[..., ::-1]
    return scale_pixels(pixels, info.mean, info.std)


def quantization_lut(dtype, scale: float, zero_point: int, mean, std) -> np.ndarray:
    """[256, 3] table: pixel value -> quantized input value, per channel."""
    info = np.iinfo(dtype)
    real = scale_pixels(np.arange(256, dtype=np.float64)[:, None], mean, std)
    # With mean 127.5 every pixel lands on a half (scale 1/127.5, zero point 127: q = p - 0.5), give
    # or take the float32 error of the scale. Rounding those halves to even, or by that error, merges
    # the levels in pairs; rounding them all up (within 1e-3) keeps all 256, as feeding raw pixels does.
    return np.clip(np.floor(real / scale + zero_point + 0.5 + 1e-3), info.min, info.max).astype(dtype)


def normalisation_lut(mean, std) -> np.ndarray:
    """[256, 3] float32 table: pixel value -> (pixel - mean) / std, rounded once from float64."""
    return scale_pixels(np.arange(256, dtype=np.float64)[:, None], mean, std).astype(np.float32)


def pixel_feed_mode(lut: np.ndarray) -> str:
    """"identity" (feed pixels), "shift128" (int8 = pixel - 128) or "lut" for a quantized input."""
    pixels = np.arange(256)
    if lut.dtype == np.uint8 and np.all(lut == pixels[:, None]):
        return "identity"
    if lut.dtype == np.int8 and np.all(lut.astype(np.int16) == (pixels - 128)[:, None]):
        return "shift128"
    return "lut"


class Preprocessor:
    """Turns BGR uint8 frames into one model's input tensor; keeps its buffers between calls."""

    def __init__(self, input_spec, *, color_order="RGB", mean=(127.5,) * 3, std=(127.5,) * 3,
                 letterbox=False, layout="NHWC", resize="bilinear"):
        shape = input_spec.shape
        if layout == "NCHW":
            _, channels, self.height, self.width = shape
        else:
            _, self.height, self.width, channels = shape
        if channels != 3:
            raise ValueError(f"input shape {list(shape)} is not a 3-channel image")
        if color_order not in COLOR_ORDERS:
            raise ValueError(f"color_order {color_order!r} is not one of {', '.join(COLOR_ORDERS)}")
        if resize not in RESIZE_FILTERS:
            raise ValueError(f"resize {resize!r} is not one of {', '.join(RESIZE_FILTERS)}")
        self.dtype = np.dtype(input_spec.dtype)
        self.model_rgb = color_order == "RGB"
        self.letterbox = letterbox
        self.layout = layout
        self.interpolation = RESIZE_FILTERS[resize]
        self.mean, self.std = tuple(mean), tuple(std)
        self.mode, self.lut = self._value_map(input_spec)
        self._resized = np.empty((self.height, self.width, 3), np.uint8)
        self._swapped = np.empty((self.height, self.width, 3), np.uint8)
        self._mapped = np.empty((self.height, self.width, 3), self.dtype)
        self._nchw = np.empty((1, 3, self.height, self.width), self.dtype) if layout == "NCHW" else None
        # Letterbox padding: the pixel value that maps to input 0 (the mean), so padding is "nothing".
        self.pad_value = tuple(int(np.clip(round(m), 0, 255)) for m in self.mean)  # in the model's order

    def _value_map(self, spec):
        if spec.quantized:
            lut = quantization_lut(self.dtype, spec.scale, spec.zero_point, self.mean, self.std)
            return pixel_feed_mode(lut), lut.reshape(1, 256, 3)
        if self.dtype.kind != "f":
            raise ValueError(f"input type {self.dtype} without quantization parameters cannot be fed from pixels")
        return "float", normalisation_lut(self.mean, self.std).astype(self.dtype).reshape(1, 256, 3)

    def __call__(self, frame: np.ndarray, color: str = "bgr") -> tuple[np.ndarray, Transform]:
        """`frame`: HxWx3 uint8 in `color` order ("bgr" as OpenCV reads, or "rgb" as PIL does)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 {color.upper()} image, got {frame.dtype} {list(frame.shape)}")
        if color not in COLORS:
            raise ValueError(f"color {color!r} is not 'bgr' or 'rgb'")
        swap = self.model_rgb != (color == "rgb")
        transform = self._resize(frame, self.pad_value[::-1] if swap else self.pad_value)
        image = self._resized
        if swap:
            cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=self._swapped)
            image = self._swapped
        if self.mode == "identity":
            mapped = image
        elif self.mode == "shift128":
            np.bitwise_xor(image, 0x80, out=image)  # uint8 p -> int8 p - 128, same bits
            mapped = image.view(np.int8)
        else:
            mapped = self._mapped
            if self.dtype in (np.float32, np.uint8, np.int8, np.int16, np.uint16, np.float64):
                cv2.LUT(image, self.lut, dst=mapped)
            else:  # e.g. float16, which cv2.LUT does not write
                np.take(self.lut.reshape(-1), image.astype(np.intp) * 3 + np.arange(3), out=mapped)
        if self._nchw is not None:
            np.copyto(self._nchw[0], mapped.transpose(2, 0, 1))
            return self._nchw, transform
        return mapped[None], transform

    def _resize(self, frame, pad_value) -> Transform:
        fh, fw = frame.shape[:2]
        if not self.letterbox:
            if (fh, fw) == (self.height, self.width):
                np.copyto(self._resized, frame)
            else:
                cv2.resize(frame, (self.width, self.height), dst=self._resized, interpolation=self.interpolation)
            return Transform(self.width / fw, self.height / fh, 0.0, 0.0, self.width, self.height, fw, fh)
        scale = min(self.width / fw, self.height / fh)
        nw, nh = max(1, round(fw * scale)), max(1, round(fh * scale))
        px, py = (self.width - nw) // 2, (self.height - nh) // 2
        self._resized[:] = pad_value
        inner = self._resized[py:py + nh, px:px + nw]
        inner[:] = frame if (nh, nw) == (fh, fw) else cv2.resize(frame, (nw, nh), interpolation=self.interpolation)
        return Transform(nw / fw, nh / fh, float(px), float(py), self.width, self.height, fw, fh)
