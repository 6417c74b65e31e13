"""Tiny TFLite models built with TensorFlow (tests only): the kinds of file users bring from elsewhere."""

import numpy as np


def keras_to_tflite(model) -> bytes:
    """A float TFLite flatbuffer of a Keras model (batch dimension left open, as Keras has it)."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def feature_extractor(size=16, features=1024) -> bytes:
    """A MobileNet-style feature vector model: conv, global average pool, [-1, features] floats."""
    import keras

    inputs = keras.Input((size, size, 3))
    x = keras.layers.Conv2D(features, 1, activation="relu")(inputs)
    return keras_to_tflite(keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)))


def segmenter(size=33, classes=21) -> bytes:
    """A DeepLab-shaped model: [1, size, size, classes] scores per pixel."""
    import keras

    inputs = keras.Input((size, size, 3))
    return keras_to_tflite(keras.Model(inputs, keras.layers.Conv2D(classes, 1)(inputs)))


def classifier(size=16, classes=5, seed=0) -> bytes:
    """A Model Maker-shaped classifier: [-1, size, size, 3] float in, [-1, classes] softmax out
    (size None: height and width left open too)."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    x = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras_to_tflite(keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(x)))


def with_custom_op(flatbuffer: bytes, name: str) -> bytes:
    """The same model with its first operator code replaced by custom op `name` (as the Edge TPU
    compiler leaves it: one custom op); it no longer loads in LiteRT, which is the point."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = name.encode()
    return _pack(model)


def with_metadata(flatbuffer: bytes, entries: dict) -> bytes:
    """The same model with metadata entries {name: bytes} (each in a buffer of its own)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    for name, data in entries.items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(data, np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name.encode(), len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]
    return _pack(model)


def _pack(model) -> bytes:
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as schema

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    del schema
    return bytes(builder.Output())


def support_metadata(mean=None, std=None, label_file=None, color_space=1, outputs=1, label_output=0,
                     default_size=None) -> bytes:
    """A TFLite Support `ModelMetadata` flatbuffer ("M001", metadata_schema.fbs), as Model Maker
    writes it: the input's ImageProperties and NormalizationOptions, `outputs` output tensors of
    which `label_output` names the label file: TENSOR_AXIS_LABELS for a classifier's one output,
    TENSOR_VALUE_LABELS for a detector's classes (one of four)."""
    import flatbuffers

    b = flatbuffers.Builder(256)

    def floats(values):
        b.StartVector(4, len(values), 4)
        for v in reversed(values):
            b.PrependFloat32(float(v))
        return b.EndVector()

    def table(fields):  # fields: (slot, kind, value), built in the order given
        b.StartObject(max(slot for slot, _, _ in fields) + 1)
        for slot, kind, value in fields:
            {"offset": b.PrependUOffsetTRelativeSlot, "byte": b.PrependInt8Slot,
             "ubyte": b.PrependUint8Slot}[kind](slot, value, 0)
        return b.EndObject()

    def vector(offsets):
        b.StartVector(4, len(offsets), 4)
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    image_fields = [(0, "byte", color_space)]
    if default_size is not None:  # ImageSize: width, height
        image_fields.append((1, "offset", _image_size(b, *default_size)))
    image = table(image_fields)
    content = table([(0, "ubyte", 2), (1, "offset", image)])
    units = []
    if mean is not None:
        mean_v, std_v = floats(mean), floats(std)
        norm = table([(0, "offset", mean_v), (1, "offset", std_v)])
        units = [table([(0, "ubyte", 1), (1, "offset", norm)])]
    in_name = b.CreateString("image")
    in_fields = [(0, "offset", in_name), (3, "offset", content)]
    if units:
        in_fields.append((4, "offset", vector(units)))
    input_meta = table(in_fields)
    output_metas = []
    for i in range(outputs):
        out_fields = [(0, "offset", b.CreateString("probability" if outputs == 1 else f"output {i}"))]
        if label_file and i == label_output:
            label = table([(0, "offset", b.CreateString(label_file)), (2, "byte", 2 if outputs == 1 else 3)])
            out_fields.append((6, "offset", vector([label])))
        output_metas.append(table(out_fields))
    subgraph = table([(2, "offset", vector([input_meta])), (3, "offset", vector(output_metas))])
    root = table([(0, "offset", b.CreateString("ImageClassifier")), (3, "offset", vector([subgraph]))])
    b.Finish(root, file_identifier=b"M001")
    return bytes(b.Output())


def _image_size(b, height, width):
    b.StartObject(2)
    b.PrependUint32Slot(0, width, 0)
    b.PrependUint32Slot(1, height, 0)
    return b.EndObject()


def append_zip(data: bytes, files: dict) -> bytes:
    """`data` with `files` {name: text} appended as a zip, as TFLite Support packs associated files."""
    import io
    import zipfile

    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as packed:
        for name, text in files.items():
            packed.writestr(name, text)
    return buffer.getvalue()


def with_outputs_reordered(flatbuffer: bytes, order, names=None) -> bytes:
    """The same model with its outputs listed in `order` (old positions), renamed `names` if given
    (e.g. TF2's "StatefulPartitionedCall:0", ...), and without signatures, which would name them."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    graph = model.subgraphs[0]
    graph.outputs = [graph.outputs[i] for i in order]
    for tensor, name in zip(graph.outputs, names or (), strict=False):
        graph.tensors[tensor].name = name.encode()
    model.signatureDefs = []
    return _pack(model)
