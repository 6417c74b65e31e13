"""Put the model description (the sidecar JSON) inside the exported file itself.

TFLite: an entry named "edgevision" in the flatbuffer's `metadata` list, pointing at a buffer
that holds the UTF-8 JSON. ONNX: `metadata_props` key "edgevision". A single copied file then
still describes itself; the runtime reads the sidecar first, then this copy.
"""

from __future__ import annotations

import json

KEY = "edgevision"


def embed_tflite(flatbuffer: bytes, description: dict) -> bytes:
    """The flatbuffer with `description` as its "edgevision" metadata entry (replacing an older one)."""
    return set_tflite_entries(flatbuffer, {KEY: json.dumps(description).encode("utf-8")})


def set_tflite_entries(flatbuffer: bytes, entries: dict[str, bytes]) -> bytes:
    """The flatbuffer with named metadata entries `entries` (each replacing an older one of its name).

    The flatbuffer is rewritten: anything appended after it (a zip of associated files) is dropped.
    """
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    names = {name.encode() for name in entries}
    kept = [m for m in (model.metadata or []) if m.name not in names]
    for name, data in entries.items():
        buffer = schema.BufferT()
        buffer.data = list(data)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name = name.encode()
        entry.buffer = len(model.buffers) - 1
        kept.append(entry)
    model.metadata = kept
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def read_tflite(flatbuffer: bytes) -> dict | None:
    """The embedded description of a TFLite file, or None."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        if entry.Name() == KEY.encode():
            return json.loads(model.Buffers(entry.Buffer()).DataAsNumpy().tobytes())
    return None


def embed_onnx(onnx_model, description: dict):
    """Set `metadata_props["edgevision"]` on an `onnx.ModelProto` in place and return it."""
    for prop in list(onnx_model.metadata_props):
        if prop.key == KEY:
            onnx_model.metadata_props.remove(prop)
    prop = onnx_model.metadata_props.add()
    prop.key, prop.value = KEY, json.dumps(description)
    return onnx_model


def read_onnx(onnx_model) -> dict | None:
    for prop in onnx_model.metadata_props:
        if prop.key == KEY:
            return json.loads(prop.value)
    return None
