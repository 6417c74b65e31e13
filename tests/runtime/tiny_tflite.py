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
    """A Model Maker-shaped classifier: [-1, size, size, 3] float in, [-1, classes] softmax out."""
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
