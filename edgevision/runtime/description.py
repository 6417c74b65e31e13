"""What a model is and how to feed it: its `ModelInfo`, from the best source available.

1. our JSON sidecar next to the file (`<model>.json`, `edgevision.metadata.read_sidecar`);
2. the same JSON embedded in the file: a TFLite metadata entry, or an ONNX `metadata_props`
   entry, named "edgevision" (written by `edgevision export`);
3. inferred from the tensors, for models built elsewhere, with the TFLite Support metadata
   Model Maker, MediaPipe and Coral files carry (labels, NormalizationOptions for float
   inputs, default input size; `support_metadata.py`): a 4-D 3-channel input, one score
   output (classifier) or the four SSD post-processing outputs (detector); quantized inputs
   take their normalisation from the input tensor's scale and zero point, so pixels are fed
   unchanged (uint8) or shifted by 128 (int8), and so do integer inputs without quantization
   parameters (a tf2onnx conversion's uint8 input: raw pixels); float inputs use the caller's
   normalisation, default 127.5/127.5 (inputs in [-1, 1]).

Caller overrides (`--labels`, `--normalize` or `--mean/--std`) win over every source; means
and standard deviations are given in R, G, B order whatever the model's channel order.
"""

from __future__ import annotations

import dataclasses
import json

from edgevision.errors import UserError
from edgevision.metadata import NORMALIZATIONS, ModelInfo, read_sidecar, sidecar_path
from edgevision.runtime import detection, unsupported
from edgevision.runtime.modelfile import EMBEDDED_KEY
from edgevision.runtime.support_metadata import read_support_metadata

DEFAULT_MEAN = DEFAULT_STD = 127.5


def normalisation(normalize=None, mean=None, std=None) -> tuple:
    """(mean, std) the caller asked for, from a preset name or values; (None, None) for neither."""
    if normalize is None:
        return mean, std
    if mean is not None or std is not None:
        raise UserError(f"--normalize {normalize} and --mean/--std both set the normalisation: give one of them")
    if normalize not in NORMALIZATIONS:
        raise UserError(f"--normalize {normalize!r}: use one of {', '.join(NORMALIZATIONS)}")
    return NORMALIZATIONS[normalize]


def describe(model_file, backend, labels=None, mean=None, std=None) -> tuple[ModelInfo, str]:
    """(ModelInfo, source) with source "sidecar", "embedded" or "inferred"; UserError if unusable.

    mean/std (1 or 3 values, R, G, B) replace the description's normalisation.
    """
    path = model_file.path
    try:
        info, source = read_sidecar(path), "sidecar"
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if info is None:
        info, source = _embedded(model_file), "embedded"
    if info is None:
        support = read_support_metadata(model_file) if model_file.format == "tflite" else None
        info, source = infer_info(model_file, backend, support), "inferred"
        if labels is None:
            labels = (support.labels if support else None) or packed_labels(model_file.data)
        if support and support.mean and mean is None and std is None and not backend.inputs[0].quantized:
            mean, std = support.mean, support.std  # float inputs only: quantized ones take raw pixels, as in the Task Library
        if info.task == "classify":
            unsupported.refuse_features(model_file, backend.outputs[0], labels)
    input_spec = with_quantization(backend.inputs[0], info.input_quantization)
    changes = {}
    if source == "inferred" and input_spec.quantized and mean is None and std is None:
        changes["mean"], changes["std"] = pixel_identity_normalisation(input_spec)
    elif source == "inferred":
        mean = DEFAULT_MEAN if mean is None else mean
        std = DEFAULT_STD if std is None else std
    in_model_order = (lambda v: v[::-1]) if info.color_order == "BGR" else (lambda v: v)
    if labels is not None:
        changes["labels"] = list(labels)
    if mean is not None:
        changes["mean"] = in_model_order(_three(mean, "--mean", path))
    if std is not None:
        changes["std"] = in_model_order(_three(std, "--std", path))
        if any(s == 0 for s in changes["std"]):
            raise UserError("--std 0 would divide by zero: pass the model's standard deviation, e.g. 127.5")
    return dataclasses.replace(info, **changes), source


def with_quantization(spec, quant):
    """An integer tensor the backend reports without scale takes it from the description (our ONNX I/O)."""
    if spec.quantized or spec.dtype.kind not in "iu" or not quant or not quant.get("scale"):
        return spec
    return spec._replace(scale=float(quant["scale"]), zero_point=int(quant.get("zero_point") or 0))


def pixel_identity_normalisation(spec) -> tuple[tuple, tuple]:
    """mean/std under which a quantized input takes raw pixels (uint8) or pixels - 128 (int8)."""
    shift = 128 if spec.dtype.kind == "i" else 0
    return (float(spec.zero_point + shift),) * 3, (1.0 / spec.scale,) * 3


def _embedded(model_file) -> ModelInfo | None:
    raw = model_file.metadata.get(EMBEDDED_KEY)
    if raw is None:
        return None
    try:
        return ModelInfo.from_dict(json.loads(raw.rstrip(b"\0").decode("utf-8")))
    except (ValueError, UnicodeDecodeError, TypeError) as exc:
        raise UserError(
            f"{model_file.path}: its embedded edgevision description is broken ({exc}): "
            f"re-export it, or put a valid {sidecar_path(model_file.path).name} next to it"
        ) from None


def packed_labels(data: bytes) -> list[str] | None:
    """Labels from the zip TFLite Support metadata appends to a model (e.g. `labels.txt`), if any."""
    import io
    import zipfile

    from edgevision.runtime.labels import parse_labels

    if b"PK\x05\x06" not in data[-65_600:]:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            names = [n for n in packed.namelist() if n.lower().endswith(".txt")]
            if len(names) != 1 or packed.getinfo(names[0]).file_size > 10_000_000:
                return None
            return parse_labels(packed.read(names[0]).decode("utf-8"), names[0])
    except (zipfile.BadZipFile, UnicodeDecodeError, UserError, OSError, EOFError, ValueError):
        return None


def input_layout(shape) -> str:
    """"NHWC" or "NCHW" for a 4-D 3-channel image input; UserError otherwise."""
    if len(shape) == 4 and shape[3] == 3:
        return "NHWC"
    if len(shape) == 4 and shape[1] == 3:
        return "NCHW"
    return ""


def infer_info(model_file, backend, support=None) -> ModelInfo:
    """A description from the tensors (models built elsewhere) and their TFLite Support metadata, if any."""
    path = model_file.path
    spec = backend.inputs[0]
    layout = input_layout(spec.shape)
    if len(backend.inputs) != 1 or not layout:
        shapes = [list(s.shape) for s in backend.inputs]
        raise UserError(
            f"{path} takes input(s) {shapes}, not one 4-D 3-channel image [1, H, W, 3]: "
            "edgevision runs image models only"
        )
    h, w = (spec.shape[1], spec.shape[2]) if layout == "NHWC" else (spec.shape[2], spec.shape[3])
    if (h <= 0 or w <= 0) and support and support.input_size:
        h, w = support.input_size
    if h <= 0 or w <= 0:
        raise UserError(f"{path} leaves its input size open ({list(spec.shape)}): add a sidecar {sidecar_path(path).name} with input_size")
    if spec.quantized:
        quant = {"dtype": spec.dtype.name, "scale": spec.scale, "zero_point": spec.zero_point}
    elif spec.dtype.kind in "iu":  # no quantization parameters: the tensor holds the values themselves
        quant = {"dtype": spec.dtype.name, "scale": 1.0, "zero_point": 0}
    else:
        quant = None
    outputs = backend.outputs
    extra = {"tflite_metadata": {k: v for k, v in support._asdict().items() if k != "labels"}} if support else {}
    common = dict(input_size=(h, w), labels=[], input_quantization=quant, format=backend.format,
                  quantization="int8" if spec.quantized else "none", extra=extra)
    if len(outputs) == 4:
        try:
            detection.postprocessed_order([o.shape for o in outputs], backend.signature_outputs)
            return ModelInfo(task="detect", output_layout="ssd_postprocessed", **common)
        except ValueError:
            pass
    if len(outputs) == 1 and is_score_vector(outputs[0].shape):
        out = outputs[0]
        graph_quant = model_file.output_quantization[0] if model_file.output_quantization else None
        if out.quantized:
            out_quant = {"dtype": out.dtype.name, "scale": out.scale, "zero_point": out.zero_point}
        elif out.dtype.kind in "iu" and graph_quant:  # tf2onnx: the scale sits on the graph's last QuantizeLinear
            out_quant = {"dtype": out.dtype.name, "scale": graph_quant[0], "zero_point": graph_quant[1]}
        else:
            out_quant = None
        return ModelInfo(task="classify", output_layout="probabilities", output_quantization=out_quant, **common)
    raise unsupported.explain_outputs(path, (h, w), outputs)


def is_score_vector(shape) -> bool:
    """[N], [1, N], [-1, N], [1, 1, 1, N], ...: one known dimension above 1, the others 1 or open (batch)."""
    return sum(1 for d in shape if d > 1) == 1 and all(d > 1 or d in (1, -1) for d in shape)


def _three(value, name, path):
    values = [float(value)] * 3 if isinstance(value, int | float) else [float(v) for v in value]
    values = values * 3 if len(values) == 1 else values
    if len(values) != 3:
        raise UserError(f"{name} needs 1 or 3 values, got {value!r}")
    return tuple(values)
