"""Model file validation before any interpreter sees the bytes.

A model file is read once, its format told from its content (not its name), and its
structure checked: for TFLite, the flatbuffer's root table, vtables, vectors, strings and
the indices between tensors, buffers, operators and subgraphs are bounds-checked, so a
truncated or corrupted file is a `UserError` naming the file and the fix, not a crash in
C++. For ONNX, the top-level protobuf fields are walked and bounds-checked, then ONNX
Runtime parses it (its errors are exceptions). Pure Python: no TensorFlow, no flatbuffers
package needed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from edgevision.errors import UserError

TFLITE_IDENTIFIER = b"TFL3"
EMBEDDED_KEY = "edgevision"  # TFLite metadata name / ONNX metadata_props key holding the sidecar JSON
_FIX = "re-export it with `edgevision export` or download it again"

# TensorType -> bytes per element, for the types whose constant data size can be checked exactly.
_ELEMENT_SIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 9: 1, 10: 8, 12: 8, 15: 4, 16: 2, 18: 2}
_MAX_TENSOR_TYPE = 40  # generous: newer schemas add types; anything far beyond is corruption


# What produces a graph output, seen through reshapes, casts and (de)quantization: the kinds of
# op `runtime/unsupported.py` tells classifiers from feature extractors by.
SOFTMAX, SIGMOID, LINEAR, POOL, L2NORM, OTHER = "softmax", "sigmoid", "linear", "pool", "l2norm", "other"
_TFLITE_KINDS = {25: SOFTMAX, 50: SOFTMAX, 14: SIGMOID, 9: LINEAR, 3: LINEAR, 126: LINEAR, 0: LINEAR,
                 1: POOL, 40: POOL, 11: L2NORM}
_TFLITE_PASS = {22, 43, 114, 6, 53}  # RESHAPE, SQUEEZE, QUANTIZE, DEQUANTIZE, CAST
_ONNX_KINDS = {"Softmax": SOFTMAX, "LogSoftmax": SOFTMAX, "Sigmoid": SIGMOID, "Gemm": LINEAR, "MatMul": LINEAR,
               "Conv": LINEAR, "Add": LINEAR, "QLinearMatMul": LINEAR, "QLinearConv": LINEAR, "MatMulInteger": LINEAR,
               "GlobalAveragePool": POOL, "AveragePool": POOL, "ReduceMean": POOL, "QLinearGlobalAveragePool": POOL,
               "LpNormalization": L2NORM}
_ONNX_PASS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Cast", "QuantizeLinear", "DequantizeLinear"}
EDGETPU_OP = "edgetpu-custom-op"


@dataclass
class ModelFile:
    """A validated model: its bytes, format ("tflite" or "onnx"), embedded metadata entries, the
    custom ops it uses and, per graph output, the kind of op that computes it (SOFTMAX, POOL, ...)
    and, for ONNX, the quantization its last QuantizeLinear gives it."""

    path: Path
    format: str
    data: bytes
    metadata: dict[str, bytes] = field(default_factory=dict)
    custom_ops: tuple[str, ...] = ()
    output_ops: tuple[str, ...] = ()
    output_quantization: tuple = ()  # ONNX: (scale, zero point) of an integer output from its QuantizeLinear


def read_model_file(path) -> ModelFile:
    """Read and validate `path`; UserError (exit 2) naming the file and the fix if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such model file: check the path")
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a model file: pass the .tflite or .onnx file inside it")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the model file ({exc.strerror}): check its permissions") from exc
    if not data:
        raise UserError(f"{path} is empty (0 bytes): {_FIX}")
    kind = sniff_format(data)
    suffix = path.suffix.lower()
    if kind is None and data[:2] == b"PK" and suffix == ".task":
        inside = _zipped_models(data)
        raise UserError(f"{path} is a MediaPipe Tasks bundle (a zip), not a model: unzip it and pass the model "
                        f"inside ({', '.join(inside) if inside else 'a .tflite file'})")
    if kind is None and data[:2] == b"PK" and suffix in (".keras", ".zip"):
        raise UserError(f"{path} is a Keras model, not a runtime model: convert it with `edgevision export {path.name} --out DIR`")
    if kind is None:
        raise UserError(
            f"{path} is neither a TFLite flatbuffer nor an ONNX model (first bytes {data[:8].hex(' ')}): {_FIX}"
        )
    if suffix == ".tflite" and kind == "onnx":
        raise UserError(f"{path} is really an ONNX model, not TFLite: rename it to {path.with_suffix('.onnx').name}")
    if suffix == ".onnx" and kind == "tflite":
        raise UserError(f"{path} is really a TFLite model, not ONNX: rename it to {path.with_suffix('.tflite').name}")
    try:
        metadata = check_tflite(data) if kind == "tflite" else check_onnx(data)
        if kind == "tflite":
            custom_ops, output_ops = tflite_ops(data)
            output_quantization = ()
        else:
            custom_ops, (output_ops, output_quantization) = (), onnx_outputs(data)
    except Malformed as exc:
        what = "TFLite flatbuffer" if kind == "tflite" else "ONNX protobuf"
        raise UserError(f"{path} is a truncated or corrupted {what} ({exc}): {_FIX}") from None
    return ModelFile(path=path, format=kind, data=data, metadata=metadata, custom_ops=custom_ops,
                     output_ops=output_ops, output_quantization=output_quantization)


def _zipped_models(data: bytes) -> list[str]:
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as bundle:
            return [n for n in bundle.namelist() if n.lower().endswith((".tflite", ".onnx"))]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return []


def sniff_format(data: bytes) -> str | None:
    """"tflite", "onnx" or None, from the content alone."""
    if len(data) >= 8 and data[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    # Every ONNX writer puts ModelProto's ir_version (field 1, varint: tag 0x08) first.
    if data[:1] == b"\x08":
        return "onnx"
    return None


class Malformed(Exception):
    pass


# -- TFLite flatbuffer ------------------------------------------------------------------------------


class Flatbuffer:
    """Bounds-checked reads of a flatbuffer (little-endian, offsets relative to where they are stored)."""

    def __init__(self, data: bytes):
        self.data = data
        self.size = len(data)

    def _need(self, pos: int, n: int, what: str):
        if pos < 0 or n < 0 or pos + n > self.size:
            raise Malformed(f"{what} at byte {pos} runs past the end of the {self.size}-byte file")

    def unpack(self, fmt: str, pos: int, what: str = "value"):
        self._need(pos, struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.data, pos)[0]

    def table(self, pos: int, what: str) -> Table:
        if pos % 4:
            raise Malformed(f"{what} table at byte {pos} is misaligned")
        vtable = pos - self.unpack("<i", pos, what)
        if vtable % 2:
            raise Malformed(f"{what} vtable at byte {vtable} is misaligned")
        vt_size = self.unpack("<H", vtable, f"{what} vtable")
        obj_size = self.unpack("<H", vtable + 2, f"{what} vtable")
        if vt_size < 4 or vt_size % 2:
            raise Malformed(f"{what} vtable at byte {vtable} has an impossible size {vt_size}")
        self._need(vtable, vt_size, f"{what} vtable")
        self._need(pos, obj_size, f"{what} table")
        slots = struct.unpack_from(f"<{(vt_size - 4) // 2}H", self.data, vtable + 4)
        if any(s and s >= obj_size for s in slots):
            raise Malformed(f"{what} table at byte {pos} has a field outside the table")
        return Table(self, pos, slots, obj_size, what)


class Table:
    def __init__(self, fb: Flatbuffer, pos: int, slots, obj_size: int, what: str):
        self.fb, self.pos, self.slots, self.obj_size, self.what = fb, pos, slots, obj_size, what

    def _field(self, slot: int, width: int) -> int | None:
        if slot >= len(self.slots) or not self.slots[slot]:
            return None
        off = self.slots[slot]
        if off + width > self.obj_size:
            raise Malformed(f"{self.what} field {slot} crosses the end of its table")
        return self.pos + off

    def scalar(self, slot: int, fmt: str, default=0):
        pos = self._field(slot, struct.calcsize(fmt))
        return default if pos is None else self.fb.unpack(fmt, pos, f"{self.what} field {slot}")

    def _target(self, slot: int) -> int | None:
        pos = self._field(slot, 4)
        if pos is None:
            return None
        target = pos + self.fb.unpack("<I", pos, f"{self.what} field {slot}")
        self.fb._need(target, 4, f"{self.what} field {slot} target")
        return target

    def vector(self, slot: int, elem_size: int, what: str) -> tuple[int, int]:
        """(start byte, element count) of a vector field; (0, 0) when absent."""
        target = self._target(slot)
        if target is None:
            return 0, 0
        if target % 4:
            raise Malformed(f"{what} vector at byte {target} is misaligned")
        count = self.fb.unpack("<I", target, what)
        self.fb._need(target + 4, count * elem_size, f"{what} vector of {count} elements")
        return target + 4, count

    def ints(self, slot: int, fmt: str, what: str) -> tuple:
        start, count = self.vector(slot, struct.calcsize(fmt), what)
        return struct.unpack_from(f"<{count}{fmt}", self.fb.data, start) if count else ()

    def string(self, slot: int, what: str) -> bytes | None:
        start, count = self.vector(slot, 1, what)
        if not start:
            return None
        self.fb._need(start + count, 1, f"{what} terminator")
        if self.fb.data[start + count] != 0:
            raise Malformed(f"{what} string at byte {start} is not terminated")
        return self.fb.data[start:start + count]

    def table(self, slot: int, what: str) -> Table | None:
        target = self._target(slot)
        return None if target is None else self.fb.table(target, what)

    def tables(self, slot: int, what: str) -> list[Table]:
        start, count = self.vector(slot, 4, what)
        return [self.fb.table(start + 4 * i + self.fb.unpack("<I", start + 4 * i, what), what) for i in range(count)]


def check_tflite(data: bytes) -> dict[str, bytes]:
    """Structurally validate a TFLite model; returns its metadata entries {name: bytes}.

    Field numbers follow tensorflow/lite/schema/schema.fbs (Model, SubGraph, Tensor, Operator,
    Buffer, Metadata, SignatureDef). Raises Malformed on the first inconsistency.
    """
    fb = Flatbuffer(data)
    model = fb.table(fb.unpack("<I", 0, "root offset"), "Model")
    version = model.scalar(0, "<I")
    if version != 3:
        raise Malformed(f"schema version {version}, expected 3")
    opcodes = model.tables(1, "operator_codes")
    for op in opcodes:
        op.string(1, "custom_code")
    buffers = model.tables(4, "buffers")
    buffer_sizes = []
    for buf in buffers:
        _, n = buf.vector(0, 1, "buffer data")
        offset, size = buf.scalar(1, "<Q"), buf.scalar(2, "<Q")
        if offset > 1 and offset + size > fb.size:
            raise Malformed(f"an external buffer (offset {offset}, size {size}) lies outside the file")
        buffer_sizes.append(n if offset <= 1 else size)
    subgraphs = model.tables(2, "subgraphs")
    if not subgraphs:
        raise Malformed("the model has no subgraph")
    for sg in subgraphs:
        _check_subgraph(sg, len(opcodes), buffer_sizes)
    metadata = {}
    for entry in model.tables(6, "metadata"):
        name = entry.string(0, "metadata name") or b""
        index = entry.scalar(1, "<I")
        if index >= len(buffers):
            raise Malformed(f"metadata {name!r} points to buffer {index} of {len(buffers)}")
        start, n = buffers[index].vector(0, 1, "metadata buffer")
        metadata[name.decode("utf-8", "replace")] = bytes(data[start:start + n])
    for sig in model.tables(7, "signature_defs"):
        sig.string(2, "signature_key")
        subgraph = sig.scalar(4, "<I")
        if subgraph >= len(subgraphs):
            raise Malformed(f"a signature points to subgraph {subgraph} of {len(subgraphs)}")
        n_tensors = subgraphs[subgraph].vector(0, 4, "tensors")[1]
        for slot in (0, 1):
            for tmap in sig.tables(slot, "signature tensor map"):
                tmap.string(0, "signature tensor name")
                if tmap.scalar(1, "<I") >= n_tensors:
                    raise Malformed("a signature points to a tensor that does not exist")
    return metadata


def tflite_ops(data: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(custom op names, kind of the op computing each output of the main subgraph); after check_tflite."""
    fb = Flatbuffer(data)
    model = fb.table(fb.unpack("<I", 0, "root offset"), "Model")
    codes, custom = [], []
    for op in model.tables(1, "operator_codes"):
        # schema: the real code is the larger of deprecated_builtin_code (int8) and builtin_code (int32)
        code = max(op.scalar(0, "<b"), op.scalar(3, "<i"))
        name = op.string(1, "custom_code")
        codes.append(code)
        if code == 32 and name is not None:
            custom.append(name.decode("utf-8", "replace"))
    sg = model.tables(2, "subgraphs")[0]
    producer = {}
    for op in sg.tables(3, "operators"):
        index = op.scalar(0, "<I")
        inputs = op.ints(1, "i", "operator inputs")
        for t in op.ints(2, "i", "operator outputs"):
            producer[t] = (codes[index], inputs)
    kinds = []
    for tensor in sg.ints(2, "i", "subgraph outputs"):
        kind = OTHER
        for _ in range(16):  # through a few reshapes at most
            code, inputs = producer.get(tensor, (None, ()))
            if code in _TFLITE_PASS and inputs:
                tensor = inputs[0]
                continue
            kind = _TFLITE_KINDS.get(code, OTHER)
            break
        kinds.append(kind)
    return tuple(dict.fromkeys(custom)), tuple(kinds)


def _check_subgraph(sg: Table, n_opcodes: int, buffer_sizes: list[int]):
    tensors = sg.tables(0, "tensors")
    n = len(tensors)
    for t in tensors:
        shape = t.ints(0, "i", "tensor shape")
        if any(d < -1 for d in shape):
            raise Malformed(f"a tensor has a negative dimension {shape}")
        t.ints(7, "i", "tensor shape_signature")
        ttype = t.scalar(1, "<b")
        if not 0 <= ttype <= _MAX_TENSOR_TYPE:
            raise Malformed(f"a tensor has unknown type {ttype}")
        buffer = t.scalar(2, "<I")
        if buffer and buffer >= len(buffer_sizes):
            raise Malformed(f"a tensor points to buffer {buffer} of {len(buffer_sizes)}")
        t.string(3, "tensor name")
        q = t.table(4, "quantization")
        if q is not None:
            scales = q.vector(2, 4, "quantization scale")[1]
            zero_points = q.vector(3, 8, "quantization zero_point")[1]
            q.vector(0, 4, "quantization min")
            q.vector(1, 4, "quantization max")
            if scales and zero_points and scales != zero_points:
                raise Malformed(f"a tensor has {scales} scales but {zero_points} zero points")
            axis = q.scalar(6, "<i")
            if scales > 1 and not 0 <= axis < max(len(shape), 1):
                raise Malformed(f"a tensor is quantized along axis {axis} of a {len(shape)}-D shape")
        sparse = t._field(6, 4) is not None
        size = buffer_sizes[buffer] if buffer else 0
        if size and not sparse and ttype in _ELEMENT_SIZE and all(d >= 0 for d in shape):
            count = 1
            for d in shape:
                count *= d
            if size != count * _ELEMENT_SIZE[ttype]:
                raise Malformed(f"a constant tensor of shape {list(shape)} holds {size} bytes")
    for slot, what in ((1, "subgraph inputs"), (2, "subgraph outputs")):
        _check_indices(sg.ints(slot, "i", what), n, what)
    for op in sg.tables(3, "operators"):
        if op.scalar(0, "<I") >= n_opcodes:
            raise Malformed(f"an operator uses opcode {op.scalar(0, '<I')} of {n_opcodes}")
        for slot, what in ((1, "operator inputs"), (2, "operator outputs"), (8, "operator intermediates")):
            _check_indices(op.ints(slot, "i", what), n, what)
        op.table(4, "builtin_options")
        op.vector(5, 1, "custom_options")
        op.vector(7, 1, "mutating_variable_inputs")
    sg.string(4, "subgraph name")


def _check_indices(indices, n: int, what: str):
    bad = [i for i in indices if not -1 <= i < n]
    if bad:
        raise Malformed(f"{what} refer to tensor {bad[0]} of {n}")


# -- ONNX protobuf ----------------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise Malformed(f"a varint at byte {pos} is cut off")
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _fields(data: bytes, start: int = 0, end: int | None = None):
    """Yield (field number, wire type, value or (start, end) for length-delimited) of one message."""
    pos, end = start, len(data) if end is None else end
    while pos < end:
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise Malformed(f"field number 0 at byte {pos}")
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = (pos, pos + length), pos + length
        else:
            raise Malformed(f"wire type {wire} at byte {pos}")
        if pos > end:
            raise Malformed(f"field {number} runs past the end of the message")
        yield number, wire, value


def check_onnx(data: bytes) -> dict[str, bytes]:
    """Walk a ModelProto's top-level fields (bounds-checked); returns metadata_props {key: value}."""
    metadata = {}
    graphs = 0
    for number, wire, value in _fields(data):
        if number == 7 and wire == 2:
            graphs += 1
            list(_fields(data, *value))  # the GraphProto's own fields must be well-formed too
        elif number == 14 and wire == 2:
            entry = {n: data[v[0]:v[1]] for n, w, v in _fields(data, *value) if w == 2}
            metadata[entry.get(1, b"").decode("utf-8", "replace")] = entry.get(2, b"")
    if graphs != 1:
        raise Malformed(f"{graphs} graphs where a model has exactly one")
    return metadata


def onnx_outputs(data: bytes) -> tuple[tuple[str, ...], tuple]:
    """Per graph output: the kind of node computing it, and (scale, zero point) when it leaves the
    graph through a QuantizeLinear with constant parameters (tf2onnx's uint8 outputs), else None.

    Fields: GraphProto .node 1, .initializer 5, .output 12; NodeProto .input 1, .output 2,
    .op_type 4; ValueInfoProto .name 1.
    """
    graph = next(v for n, w, v in _fields(data) if n == 7 and w == 2)
    producer, outputs, initializers = {}, [], {}
    for number, wire, value in _fields(data, *graph):
        if number == 1 and wire == 2:
            node = {"input": [], "output": [], "op": ""}
            for n, w, v in _fields(data, *value):
                if w == 2 and n in (1, 2):
                    node["input" if n == 1 else "output"].append(data[v[0]:v[1]].decode("utf-8", "replace"))
                elif w == 2 and n == 4:
                    node["op"] = data[v[0]:v[1]].decode("utf-8", "replace")
            for name in node["output"]:
                producer[name] = node
        elif number == 5 and wire == 2:
            initializers[_tensor_name(data, value)] = value
        elif number == 12 and wire == 2:
            names = [data[v[0]:v[1]] for n, w, v in _fields(data, *value) if n == 1 and w == 2]
            outputs.append(names[0].decode("utf-8", "replace") if names else "")
    kinds, quantization = [], []
    for name in outputs:
        kind, quant = OTHER, None
        for _ in range(16):
            node = producer.get(name)
            if node is not None and node["op"] in _ONNX_PASS and node["input"]:
                if node["op"] == "QuantizeLinear" and quant is None and len(node["input"]) == 3:
                    scale = _scalar(data, initializers.get(node["input"][1]))
                    zero_point = _scalar(data, initializers.get(node["input"][2]))
                    if scale and zero_point is not None:
                        quant = (float(scale), int(zero_point))
                name = node["input"][0]
                continue
            kind = _ONNX_KINDS.get(node["op"], OTHER) if node else OTHER
            break
        kinds.append(kind)
        quantization.append(quant)
    return tuple(kinds), tuple(quantization)


def _tensor_name(data: bytes, span) -> str:
    for n, w, v in _fields(data, *span):
        if n == 8 and w == 2:
            return data[v[0]:v[1]].decode("utf-8", "replace")
    return ""


# TensorProto.data_type -> struct format of one raw_data element
_ONNX_RAW = {1: "<f", 2: "<B", 3: "<b", 6: "<i", 7: "<q", 10: "<e", 11: "<d"}


def _scalar(data: bytes, span):
    """The value of a one-element initializer (TensorProto .dims 1, .data_type 2, .float_data 4,
    .int32_data 5, .raw_data 9), or None."""
    if span is None:
        return None
    dtype, raw, floats, ints, dims = None, None, None, None, []
    for n, w, v in _fields(data, *span):
        if n == 1:
            dims.append(v)
        elif n == 2 and w == 0:
            dtype = v
        elif n == 9 and w == 2:
            raw = data[v[0]:v[1]]
        elif n == 4 and w == 2 and v[1] - v[0] == 4:
            floats = struct.unpack("<f", data[v[0]:v[1]])[0]
        elif n == 5 and w == 2:
            ints = _varint(data, v[0])[0]
        elif n == 5 and w == 0:
            ints = v
    if any(isinstance(d, int) and d != 1 for d in dims):
        return None
    if raw is not None and dtype in _ONNX_RAW and len(raw) == struct.calcsize(_ONNX_RAW[dtype]):
        return struct.unpack(_ONNX_RAW[dtype], raw)[0]
    if floats is not None:
        return floats
    if ints is not None:
        return ints - (1 << 32) if ints >= 1 << 31 else ints
    return None
