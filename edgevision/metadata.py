"""The model description every stage reads and writes: the JSON sidecar `<model>.json`.

Train writes one next to `model.keras`; export writes one next to each `.tflite`/`.onnx`
(and embeds the same JSON in the file); the runtime reads it so it never guesses colour
order, normalisation or output layout for our models. Pure Python: the runtime imports it.

The format is described once, in edgevision/formats/sidecar.schema.json; `from_dict` checks
a parsed description against it.

Pixel convention: the model input is `(pixel - mean) / std`, per channel, with pixels in
[0, 255] in `color_order`, resized to `input_size` = (height, width).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgevision import __version__, atomic, formats

FORMAT_VERSION = 1
TASKS = ("classify", "detect")
# probabilities: softmax scores [1, C]; logits: raw scores [1, C];
# ssd_postprocessed: the four standard SSD outputs (boxes, classes, scores, count);
# ssd_raw: box encodings [1, N, 4] and class scores [1, N, C+1], decoded with `anchors`.
OUTPUT_LAYOUTS = ("probabilities", "logits", "ssd_postprocessed", "ssd_raw")
QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")
MODEL_FORMATS = ("keras", "tflite", "onnx")  # the file a description belongs to
COLOR_ORDERS = ("RGB", "BGR")
# Normalisation presets (`--normalize`) for models without a description: (mean, std) in R, G, B.
NORMALIZATIONS = {
    "imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)),  # torchvision, ONNX Model Zoo
    "inception": ((127.5,) * 3, (127.5,) * 3),  # [-1, 1]: TF-slim, Keras MobileNet, TF OD API SSDs
    "unit": ((0.0,) * 3, (255.0,) * 3),  # [0, 1]: MediaPipe Model Maker, many Keras models
    "raw": ((0.0,) * 3, (1.0,) * 3),  # pixels as they are: Keras EfficientNet, tf2onnx uint8 inputs
}


@dataclass
class ModelInfo:
    task: str
    input_size: tuple[int, int]
    labels: list[str]
    mean: tuple[float, float, float] = (127.5, 127.5, 127.5)
    std: tuple[float, float, float] = (127.5, 127.5, 127.5)
    color_order: str = "RGB"
    output_layout: str = "probabilities"
    architecture: str | None = None
    alpha: float | None = None
    format: str = "keras"
    quantization: str = "none"
    # Tensor quantization of input/output as {"dtype", "scale", "zero_point"}; None for float tensors.
    input_quantization: dict | None = None
    output_quantization: dict | None = None
    # Detection only: anchors [N, 4] as (ycenter, xcenter, h, w) normalised, box-coder scales.
    anchors: list | None = None
    box_scales: tuple[float, float, float, float] | None = None
    source_model: str | None = None
    extra: dict = field(default_factory=dict)
    edgevision_version: str = __version__
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        if self.box_scales is not None:
            d["box_scales"] = list(self.box_scales)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelInfo:
        """Build from a parsed sidecar; ValueError names what is missing or wrong."""
        if not isinstance(d, dict):
            raise ValueError("the description is not a JSON object")
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"unknown format_version {version!r} (this edgevision reads {FORMAT_VERSION})")
        # The built-in checker: no compiled dependency on a Pi, and ~8x faster than jsonschema on a
        # detector's anchors (the runtime reads a description at every load).
        problem = formats.problem("sidecar", d, engine="builtin")
        if problem:
            raise ValueError(problem)
        size = d["input_size"]
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in d.items() if k in known}
        kwargs["extra"] = {**d.get("extra", {}), **{k: v for k, v in d.items() if k not in known}}
        kwargs["input_size"] = (int(size[0]), int(size[1]))
        for key in ("mean", "std"):
            if key in kwargs:
                kwargs[key] = _three(kwargs[key], key)
        if kwargs.get("box_scales") is not None:
            kwargs["box_scales"] = tuple(float(s) for s in kwargs["box_scales"])
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"


def _three(value, name):
    values = [float(value)] * 3 if isinstance(value, int | float) else [float(v) for v in value]
    if len(values) != 3:
        raise ValueError(f"{name} must have 1 or 3 values, got {value!r}")
    if name == "std" and any(v == 0 for v in values):
        raise ValueError("std must not be 0")
    return tuple(values)


def sidecar_path(model_path) -> Path:
    """`model_int8.tflite` -> `model_int8.json`."""
    return Path(model_path).with_suffix(".json")


def write_sidecar(model_path, info: ModelInfo) -> Path:
    path = sidecar_path(model_path)
    atomic.write_text(path, info.to_json())
    return path


def read_sidecar(model_path) -> ModelInfo | None:
    """The model's sidecar, or None when it has none. ValueError (naming the file) when it is broken."""
    path = sidecar_path(model_path)
    if not path.is_file():
        return None
    try:
        return ModelInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError) as exc:
        raise ValueError(f"{path} is not a valid edgevision description ({exc}): re-export the model") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}: re-export the model with `edgevision export`") from exc
