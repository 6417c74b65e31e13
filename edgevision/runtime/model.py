"""Loaded models: `Classifier` and `Detector`, both `model.predict(frame) -> result`.

One object per model file: validated bytes, an interpreter, its description and the
pre-processing buffers. `predict` is `predict_prepared(prepare(frame))`; the video pipeline
calls the two halves in different threads (pre-processing in the capture thread), which is
safe because `prepare()` hands out its own copy of the tensor. Otherwise not thread-safe: use
one model per thread.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edgevision.errors import UserError
from edgevision.runtime import classification, detection
from edgevision.runtime.backends import open_backend
from edgevision.runtime.description import describe, input_layout, normalisation, with_quantization
from edgevision.runtime.labels import align_labels, detection_labels, read_labels
from edgevision.runtime.modelfile import read_model_file
from edgevision.runtime.preprocess import COLORS, RESIZE_FILTERS, Preprocessor, Transform
from edgevision.runtime.unsupported import refuse_edgetpu


class ClassificationResult(NamedTuple):
    top_k: list  # [Class(index, label, score)], best first
    timings_ms: dict  # {"preprocess", "inference", "postprocess"}
    scores: str = classification.PROBABILITIES  # or SOFTMAX_OF_LOGITS: the model gave logits


class DetectionResult(NamedTuple):
    detections: list  # [Detection(index, label, score, box=(xmin, ymin, xmax, ymax))], best first
    timings_ms: dict


class Prepared(NamedTuple):
    """A frame turned into model input by `model.prepare(frame)`, ready for `model.predict_prepared`."""

    tensor: np.ndarray
    transform: Transform  # model pixels -> frame pixels (detection boxes)
    preprocess_ms: float


def load(path, threads: int | None = None, labels=None, mean=None, std=None, letterbox: bool = False,
         normalize: str | None = None, resize: str = "bilinear", color: str = "bgr"):
    """Open a .tflite or .onnx model -> `Classifier` or `Detector`.

    threads: inference threads (default: the cores this process may use). labels: a label
    file path or a list (overrides the description). normalize: "imagenet", "inception",
    "unit" or "raw" (`NORMALIZATIONS`), or mean/std (1 or 3 values, R, G, B; input =
    (pixel - mean) / std): the normalisation, for models without a description. letterbox:
    keep the aspect ratio and pad instead of stretching. resize: "bilinear", "nearest" (as
    PIL's, which pycoral uses) or "area". color: the channel order `predict` gets by default,
    "bgr" (OpenCV) or "rgb" (PIL). Bad files raise UserError naming the fix.
    """
    if resize not in RESIZE_FILTERS:
        raise UserError(f"--resize {resize!r}: use one of {', '.join(RESIZE_FILTERS)}")
    if color not in COLORS:
        raise UserError(f"color {color!r}: frames are 'bgr' (OpenCV) or 'rgb' (PIL)")
    mean, std = normalisation(normalize, mean, std)
    model_file = read_model_file(path)
    refuse_edgetpu(model_file)
    backend = open_backend(model_file, threads)
    if labels is not None and not isinstance(labels, list | tuple):
        labels = read_labels(labels)
    info, source = describe(model_file, backend, labels=labels, mean=mean, std=std)
    cls = Detector if info.task == "detect" else Classifier
    return cls(model_file, backend, info, source, letterbox, resize, color)


class _Model:
    def __init__(self, model_file, backend, info, description_source, letterbox, resize="bilinear", color="bgr"):
        self.path = Path(model_file.path)
        self.size_bytes = len(model_file.data)
        self.backend = backend
        self.info = info
        self.description_source = description_source
        self.input_spec = with_quantization(backend.inputs[0], info.input_quantization)
        self.output_specs = [with_quantization(o, info.output_quantization) for o in backend.outputs]
        self.color = color
        layout = input_layout(self.input_spec.shape)
        if not layout or len(backend.inputs) != 1:
            raise UserError(f"{self.path} takes input {list(self.input_spec.shape)}, not one [1, H, W, 3] image")
        self.input_spec = self.input_spec._replace(shape=_fixed_shape(self.input_spec.shape, info.input_size, layout))
        try:
            backend.fit_input(self.input_spec.shape)
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"{self.path} cannot take input {list(self.input_spec.shape)} ({exc}): "
                            "check input_size in its description") from None
        try:
            self.preprocess = Preprocessor(self.input_spec, color_order=info.color_order, mean=info.mean,
                                           std=info.std, letterbox=letterbox, layout=layout, resize=resize)
        except ValueError as exc:
            raise UserError(f"{self.path}: {exc}: re-export the model with `edgevision export`") from None
        self._preprocess_lock = threading.Lock()  # one set of pre-processing buffers

    @property
    def input_size(self) -> tuple[int, int]:
        return self.info.input_size

    def prepare(self, frame, *, copy: bool = True, color: str | None = None) -> Prepared:
        """Pre-process one frame (the one path, `runtime/preprocess.py`).

        `frame`: HxWx3 uint8 in `color` order ("bgr" or "rgb"; default: `load`'s, BGR unless
        told otherwise), or a PIL image (taken as RGB). With `copy` (the default) the tensor is
        this frame's own, so frames can be prepared ahead in another thread; `copy=False`
        returns the model's buffer, overwritten by the next call.
        """
        color = self.color if color is None else color
        if not isinstance(frame, np.ndarray):
            if not (hasattr(frame, "convert") and hasattr(frame, "getbands")):
                raise TypeError(f"predict() takes a numpy or PIL image, got {type(frame).__name__}")
            frame, color = np.asarray(frame.convert("RGB")), "rgb"
        with self._preprocess_lock:
            start = time.perf_counter()
            tensor, transform = self.preprocess(frame, color)
            if copy:
                tensor = tensor.copy()
            return Prepared(tensor, transform, (time.perf_counter() - start) * 1e3)

    def _invoke(self, prepared: Prepared):
        t1 = time.perf_counter()
        outputs = self.backend.invoke([prepared.tensor])
        return outputs, t1, time.perf_counter()

    @staticmethod
    def _timings(prepared, t1, t2, t3):
        return {"preprocess": prepared.preprocess_ms, "inference": (t2 - t1) * 1e3, "postprocess": (t3 - t2) * 1e3}


class Classifier(_Model):
    """`predict(frame_bgr)` -> ClassificationResult with the top-k classes."""

    task = "classify"

    def __init__(self, *args, top_k: int = 5, threshold: float = 0.0):
        super().__init__(*args)
        out = self.output_specs[0]
        num_classes = int(np.prod([d for d in out.shape if d > 0]))
        self.labels = align_labels(self.info.labels, num_classes) if self.info.labels else []
        self.top_k, self.threshold = top_k, threshold
        self.check_scores = self.description_source == "inferred"  # our descriptions say probabilities or logits

    def predict(self, frame, top_k: int | None = None, threshold: float | None = None,
                color: str | None = None) -> ClassificationResult:
        """Top-k classes of one frame: BGR uint8 (as OpenCV reads), `color="rgb"` (PIL), or a PIL image."""
        return self.predict_prepared(self.prepare(frame, copy=False, color=color), top_k, threshold)

    def predict_prepared(self, prepared: Prepared, top_k: int | None = None,
                         threshold: float | None = None) -> ClassificationResult:
        """Inference and post-processing of a frame `prepare()` made ready."""
        outputs, t1, t2 = self._invoke(prepared)
        out = self.output_specs[0]
        scores, kind = classification.output_scores(outputs[0], out.scale, out.zero_point,
                                                    self.info.output_layout, check=self.check_scores)
        classes = classification.top_k(scores, self.labels, self.top_k if top_k is None else top_k,
                                       self.threshold if threshold is None else threshold)
        return ClassificationResult(classes, self._timings(prepared, t1, t2, time.perf_counter()), kind)


class Detector(_Model):
    """`predict(frame_bgr)` -> DetectionResult with boxes in frame pixels."""

    task = "detect"

    def __init__(self, *args, threshold: float = 0.5, iou_threshold: float = 0.5, max_detections: int = 100):
        super().__init__(*args)
        self.labels = detection_labels(self.info.labels)
        self.threshold, self.iou_threshold, self.max_detections = threshold, iou_threshold, max_detections
        layout = self.info.output_layout
        if layout == "ssd_postprocessed":
            try:
                self.order = detection.postprocessed_order([o.shape for o in self.output_specs],
                                                           _output_names(self.backend, self.output_specs))
            except ValueError as exc:
                raise UserError(f"{self.path}: {exc}: check the model's output_layout") from None
        elif layout == "ssd_raw":
            if not self.info.anchors:
                raise UserError(f"{self.path}: layout ssd_raw needs anchors in its description: re-export it")
            self.anchors = np.asarray(self.info.anchors, np.float32).reshape(-1, 4)
            self.box_scales = tuple(self.info.box_scales or detection.BOX_CODER_SCALES)
            try:
                self.raw_order = detection.raw_order([o.shape for o in self.output_specs],
                                                     _output_names(self.backend, self.output_specs))
            except ValueError as exc:
                raise UserError(f"{self.path}: {exc}: re-export it with `edgevision export`") from None
        else:
            raise UserError(f"{self.path}: a detector with output_layout {layout!r} is not supported")

    def predict(self, frame, threshold: float | None = None, color: str | None = None) -> DetectionResult:
        """Detections in one frame: BGR uint8 (as OpenCV reads), `color="rgb"` (PIL), or a PIL image."""
        return self.predict_prepared(self.prepare(frame, copy=False, color=color), threshold)

    def predict_prepared(self, prepared: Prepared, threshold: float | None = None) -> DetectionResult:
        """Inference and post-processing (decoding, NMS) of a frame `prepare()` made ready."""
        threshold = self.threshold if threshold is None else threshold
        transform = prepared.transform
        outputs, t1, t2 = self._invoke(prepared)
        outputs = [classification.dequantize(o, s.scale, s.zero_point) if s.scale is not None else o
                   for o, s in zip(outputs, self.output_specs, strict=True)]
        if self.info.output_layout == "ssd_postprocessed":
            found = detection.from_postprocessed(outputs, self.order, self.labels, transform, threshold)
        else:
            encodings, scores = outputs[self.raw_order[0]], outputs[self.raw_order[1]]
            found = detection.from_raw(encodings, scores, self.anchors, self.labels, transform,
                                       scales=self.box_scales, threshold=threshold,
                                       iou_threshold=self.iou_threshold, max_detections=self.max_detections)
        return DetectionResult(found, self._timings(prepared, t1, t2, time.perf_counter()))


def _output_names(backend, specs):
    """Signature names where the model has them (TFLite), else tensor names."""
    return [sig or spec.name for sig, spec in zip(backend.signature_outputs, specs, strict=True)]


def _fixed_shape(shape, input_size, layout):
    """Open dimensions (-1) filled from the description: batch 1, height and width from input_size."""
    h, w = input_size
    fixed = (1, h, w, 3) if layout == "NHWC" else (1, 3, h, w)
    return tuple(f if d <= 0 else d for d, f in zip(shape, fixed, strict=True))
