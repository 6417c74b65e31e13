"""TFLite Support metadata, as MediaPipe Model Maker, the TFLite Task Library's writers and
Coral's models carry it: the "TFLITE_METADATA" entry (a `ModelMetadata` flatbuffer, schema
tensorflow_lite_support/metadata/metadata_schema.fbs, file identifier "M001") plus the files it
names, packed as a zip at the end of the model.

    found = read_support_metadata(model_file)   # SupportMetadata or None
    found.mean, found.std, found.color_space, found.labels, found.input_size

Slot numbers below are the field positions in that schema (a union takes two: type, then value).
Unreadable metadata is ignored (None): the tensors still describe the model.
"""

from __future__ import annotations

import io
import zipfile
from typing import NamedTuple

from edgevision.errors import UserError
from edgevision.runtime.modelfile import Flatbuffer, Malformed

ENTRY, IDENTIFIER = "TFLITE_METADATA", b"M001"
_IMAGE_PROPERTIES, _NORMALIZATION_OPTIONS = 2, 1  # ContentProperties, ProcessUnitOptions union values
_AXIS_LABELS, _VALUE_LABELS = 2, 3  # AssociatedFileType
_COLOR_SPACES = {1: "RGB", 2: "GRAYSCALE"}


class SupportMetadata(NamedTuple):
    mean: tuple[float, ...] | None  # NormalizationOptions of the input: input = (pixel - mean) / std
    std: tuple[float, ...] | None
    color_space: str | None  # "RGB", "GRAYSCALE" or None (unknown)
    input_size: tuple[int, int] | None  # ImageProperties.default_size (height, width), for open input shapes
    labels: list[str] | None  # the label file of the first output that names one
    labels_file: str | None
    name: str | None


def read_support_metadata(model_file) -> SupportMetadata | None:
    raw = model_file.metadata.get(ENTRY)
    if not raw or raw[4:8] != IDENTIFIER:
        return None
    try:
        return _parse(raw, model_file.data)
    except (Malformed, IndexError, UnicodeDecodeError):
        return None


def _parse(raw: bytes, model_data: bytes) -> SupportMetadata:
    fb = Flatbuffer(raw)
    root = fb.table(fb.unpack("<I", 0, "root offset"), "ModelMetadata")
    name = root.string(0, "name")
    subgraphs = root.tables(3, "subgraph_metadata")
    mean = std = color_space = size = labels = labels_file = None
    if subgraphs:
        inputs = subgraphs[0].tables(2, "input_tensor_metadata")
        if inputs:
            mean, std = _normalization(inputs[0])
            color_space, size = _image_properties(inputs[0])
        for output in subgraphs[0].tables(3, "output_tensor_metadata"):
            labels_file = _label_file(output)
            if labels_file:
                labels = _packed_file_labels(model_data, labels_file)
                break
    return SupportMetadata(mean, std, color_space, size, labels, labels_file,
                           name.decode("utf-8") if name else None)


def _normalization(tensor):
    for unit in tensor.tables(4, "process_units"):
        if unit.scalar(0, "<B") == _NORMALIZATION_OPTIONS:
            options = unit.table(1, "NormalizationOptions")
            mean, std = options.ints(0, "f", "mean"), options.ints(1, "f", "std")
            if mean and std and all(s != 0 for s in std):
                return tuple(float(v) for v in mean), tuple(float(v) for v in std)
    return None, None


def _image_properties(tensor):
    content = tensor.table(3, "content")
    if content is None or content.scalar(0, "<B") != _IMAGE_PROPERTIES:
        return None, None
    props = content.table(1, "ImageProperties")
    size = props.table(1, "default_size")
    hw = (size.scalar(1, "<I"), size.scalar(0, "<I")) if size is not None else None
    return _COLOR_SPACES.get(props.scalar(0, "<b")), hw if hw and all(hw) else None


def _label_file(tensor) -> str | None:
    """The tensor's label file: the first without a locale, else the first (as the Task Library picks)."""
    found = [(f.string(3, "locale") is not None, f.string(0, "name")) for f in tensor.tables(6, "associated_files")
             if f.scalar(2, "<b") in (_AXIS_LABELS, _VALUE_LABELS)]
    found = sorted((localised, name) for localised, name in found if name)
    return found[0][1].decode("utf-8") if found else None


def _packed_file_labels(data: bytes, name: str) -> list[str] | None:
    from edgevision.runtime.labels import parse_labels

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            if packed.getinfo(name).file_size > 10_000_000:
                return None
            return parse_labels(packed.read(name).decode("utf-8-sig"), name)
    except (KeyError, zipfile.BadZipFile, UnicodeDecodeError, UserError, OSError, EOFError, ValueError):
        return None
