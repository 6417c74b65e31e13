"""TFLite Model Metadata for exported detectors, so that off-the-shelf "Task" consumers load them:
MediaPipe Tasks' `ObjectDetector` (verified by tests/export/test_task_metadata.py) and its
predecessor, the TFLite Task Library's `ObjectDetector`, which read the same metadata.

What they need and what is written (the layout of TFLite Support's `MetadataPopulator`):
- a `ModelMetadata` flatbuffer (schema `metadata_schema.fbs`, file identifier "M001") as the
  model's metadata entry "TFLITE_METADATA";
- the input: an RGB image, with NormalizationOptions (the sidecar's mean/std) when it is float;
  a quantized input takes raw pixels, so it gets none (the consumers feed uint8 pixels as they are);
- the four outputs, in the file's order, named "location" (boxes [ymin, xmin, ymax, xmax] as
  ratios), "category" (with the label file), "score" and "number of detections": the consumers
  find them by these names;
- the label file `labels.txt` appended to the model as a zip (ZipFile append mode).

The flatbuffer is written field by field with the flatbuffers Builder; slot numbers are the
field positions in metadata_schema.fbs (a union takes two: its type, then its value).
"""

from __future__ import annotations

import io
import zipfile

import flatbuffers
import numpy as np

from edgevision import __version__

ENTRY = "TFLITE_METADATA"
IDENTIFIER = b"M001"
MIN_PARSER_VERSION = "1.2.0"  # output_tensor_groups, the newest field written, came with 1.2.0
LABEL_FILE = "labels.txt"

# (metadata name, description) per output role; the consumers look the outputs up by these names
OUTPUTS = {
    "boxes": ("location", "The locations of the detected boxes: [ymin, xmin, ymax, xmax] in [0, 1]."),
    "classes": ("category", "The categories of the detected boxes (0 = the first line of labels.txt)."),
    "scores": ("score", "The scores of the detected boxes."),
    "count": ("number of detections", "The number of the detected boxes."),
}
GROUP = "detection_result"

# enum and union values of metadata_schema.fbs
_FEATURE_PROPERTIES, _IMAGE_PROPERTIES, _BOUNDING_BOX_PROPERTIES = 1, 2, 3
_NORMALIZATION_OPTIONS = 1
_TENSOR_VALUE_LABELS = 3
_RGB = 1
_BOUNDARIES, _RATIO = 1, 0


class _Writer:
    """Tables of the metadata schema, each built from offsets of children built before it."""

    def __init__(self):
        self.b = flatbuffers.Builder(1024)

    def string(self, text: str | None):
        return None if text is None else self.b.CreateString(text)

    def offsets(self, items: list):
        self.b.StartVector(4, len(items), 4)
        for item in reversed(items):
            self.b.PrependUOffsetTRelative(item)
        return self.b.EndVector()

    def numbers(self, values, kind: str):
        return self.b.CreateNumpyVector(np.asarray(values, dtype=kind))

    def table(self, fields: dict):
        """`fields`: slot -> ("offset", value) | ("byte", value) | ("int", value); None values are left out."""
        b = self.b
        b.StartObject(1 + max(fields, default=-1))
        for slot, (kind, value) in fields.items():
            if value is None:
                continue
            if kind == "offset":
                b.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "byte":
                b.PrependInt8Slot(slot, value, -1)  # default -1: always written
            else:
                b.PrependInt32Slot(slot, value, -(2**31))
        return b.EndObject()

    # --- the schema's tables -------------------------------------------------------------------
    def value_range(self, low: int, high: int):
        return self.table({0: ("int", low), 1: ("int", high)})

    def content(self, union_type: int, properties, value_range=None):
        return self.table({0: ("byte", union_type), 1: ("offset", properties), 2: ("offset", value_range)})

    def associated_file(self, name: str, description: str, file_type: int):
        name, description = self.string(name), self.string(description)
        return self.table({0: ("offset", name), 1: ("offset", description), 2: ("byte", file_type)})

    def tensor(self, name: str, description: str, content, process_units=None, stats=None, files=None):
        name, description = self.string(name), self.string(description)
        units = None if process_units is None else self.offsets(process_units)
        files = None if files is None else self.offsets(files)
        return self.table({0: ("offset", name), 1: ("offset", description), 3: ("offset", content),
                           4: ("offset", units), 5: ("offset", stats), 6: ("offset", files)})

    def stats(self, low, high):
        high, low = self.numbers(high, "<f4"), self.numbers(low, "<f4")
        return self.table({0: ("offset", high), 1: ("offset", low)})

    def normalization(self, mean, std):
        mean, std = self.numbers(mean, "<f4"), self.numbers(std, "<f4")
        options = self.table({0: ("offset", mean), 1: ("offset", std)})
        return self.table({0: ("byte", _NORMALIZATION_OPTIONS), 1: ("offset", options)})

    def tensor_group(self, name: str, tensor_names: list[str]):
        name = self.string(name)
        names = self.offsets([self.string(n) for n in tensor_names])
        return self.table({0: ("offset", name), 1: ("offset", names)})


def detector_metadata(info, order: dict[str, int], input_dtype) -> bytes:
    """The ModelMetadata flatbuffer of a detector with the four post-processed outputs.

    `info`: the artifact's ModelInfo (labels, mean/std in RGB); `order`: role -> output position,
    as `edgevision.runtime.detection.postprocessed_order` gives it; `input_dtype`: the input's numpy dtype.
    """
    w = _Writer()
    input_dtype = np.dtype(input_dtype)
    height, width = info.input_size
    size = w.table({0: ("int", int(width)), 1: ("int", int(height))})
    image = w.table({0: ("byte", _RGB), 1: ("offset", size)})
    if input_dtype == np.float32:
        mean, std = [float(m) for m in info.mean], [float(s) for s in info.std]
        units = [w.normalization(mean, std)]
        stats = w.stats([(0.0 - m) / s for m, s in zip(mean, std, strict=True)],
                        [(255.0 - m) / s for m, s in zip(mean, std, strict=True)])
        note = f"(pixel - {_fmt(mean)}) / {_fmt(std)}"
    else:  # quantized: raw pixels go in as they are (uint8) or shifted by 128 (int8)
        units = None
        info_range = np.iinfo(input_dtype)
        stats = w.stats([float(info_range.min)], [float(info_range.max)])
        note = f"{input_dtype.name} pixels"
    inputs = [w.tensor("image", f"Input RGB image, {height}x{width}, {note}.",
                       w.content(_IMAGE_PROPERTIES, image), process_units=units, stats=stats)]

    outputs = [None] * 4
    for role, position in order.items():
        name, description = OUTPUTS[role]
        two_d = w.value_range(2, 2)  # the detections run along dimension 2 (1-based), as the writers set it
        if role == "boxes":
            index = w.numbers([1, 0, 3, 2], "<u4")  # ymin, xmin, ymax, xmax -> left, top, right, bottom
            props = w.table({0: ("offset", index), 1: ("byte", _BOUNDARIES), 2: ("byte", _RATIO)})
            content, files = w.content(_BOUNDING_BOX_PROPERTIES, props, two_d), None
        else:
            props = w.table({})
            content = w.content(_FEATURE_PROPERTIES, props, None if role == "count" else two_d)
            files = ([w.associated_file(LABEL_FILE, "Labels for the categories the model detects.",
                                        _TENSOR_VALUE_LABELS)] if role == "classes" else None)
        outputs[position] = w.tensor(name, description, content, files=files)
    group = w.tensor_group(GROUP, [OUTPUTS[r][0] for r in ("boxes", "classes", "scores")])

    input_list, output_list, groups = w.offsets(inputs), w.offsets(outputs), w.offsets([group])
    subgraph = w.table({2: ("offset", input_list), 3: ("offset", output_list), 8: ("offset", groups)})
    name = w.string(f"{info.architecture or 'SSD'} detector")
    description = w.string(f"Detects {len(info.labels)} classes ({', '.join(info.labels[:5])}"
                           f"{', ...' if len(info.labels) > 5 else ''}); exported by edgevision.")
    version, author = w.string(__version__), w.string("edgevision")
    subgraphs, parser = w.offsets([subgraph]), w.string(MIN_PARSER_VERSION)
    root = w.table({0: ("offset", name), 1: ("offset", description), 2: ("offset", version),
                    3: ("offset", subgraphs), 4: ("offset", author), 7: ("offset", parser)})
    w.b.Finish(root, file_identifier=IDENTIFIER)
    return bytes(w.b.Output())


def add_detector_metadata(flatbuffer: bytes, info) -> bytes:
    """`flatbuffer` with the Task metadata entry and labels.txt appended as a zip.

    Call it last: rewriting the flatbuffer afterwards (e.g. `embed.embed_tflite`) drops the zip.
    """
    from edgevision.export import embed

    order, input_dtype = output_order(flatbuffer)
    metadata = detector_metadata(info, order, input_dtype)
    data = embed.set_tflite_entries(flatbuffer, {ENTRY: metadata})
    return append_files(data, {LABEL_FILE: "\n".join(info.labels).encode("utf-8")})


def output_order(flatbuffer: bytes) -> tuple[dict[str, int], np.dtype]:
    """(role -> output position, input dtype), read as the runtime reads them: the output shapes
    after allocation (the post-processing op sets them), then signature names, then convention."""
    from pathlib import Path

    from edgevision.runtime.backends import LiteRTBackend
    from edgevision.runtime.detection import postprocessed_order
    from edgevision.runtime.modelfile import ModelFile

    backend = LiteRTBackend(ModelFile(Path("exported.tflite"), "tflite", flatbuffer), threads=1)
    names = [sig or spec.name for sig, spec in zip(backend.signature_outputs, backend.outputs, strict=True)]
    return postprocessed_order([o.shape for o in backend.outputs], names), backend.inputs[0].dtype


def append_files(data: bytes, files: dict[str, bytes]) -> bytes:
    """`data` with `files` appended as a zip (stored, not compressed), as TFLite Support packs them."""
    buffer = io.BytesIO(data)
    buffer.seek(0, io.SEEK_END)
    with zipfile.ZipFile(buffer, "a") as packed:
        for name, content in files.items():
            packed.writestr(name, content)
    return buffer.getvalue()


def _fmt(values) -> str:
    values = [float(v) for v in values]
    return f"{values[0]:g}" if len(set(values)) == 1 else "[" + ", ".join(f"{v:g}" for v in values) + "]"
