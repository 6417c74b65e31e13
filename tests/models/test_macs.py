"""The multiply-add counter, checked on a graph small enough to count by hand."""

import keras
from keras import layers

from edgevision.models.macs import count_macs


def test_counts_each_layer_kind_by_hand():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same")(inputs)  # 4x4x4 out: 16*4*9*3 = 1728
    x = layers.DepthwiseConv2D(3, padding="same")(x)  # 16*4*9 = 576
    x = layers.SeparableConv2D(6, 3, padding="same")(x)  # 16*4*9 + 16*4*6 = 576 + 384
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5)(x)  # 6*5 = 30
    assert count_macs(keras.Model(inputs, outputs)) == 1728 + 576 + 960 + 30


def test_walks_into_nested_models_and_counts_shared_layers_per_call():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(3)(inner_in), name="inner")  # 12
    inputs = keras.Input((4,))
    shared = layers.Dense(4)  # 16 per call
    outputs = inner(shared(shared(inputs)))
    assert count_macs(keras.Model(inputs, outputs)) == 12 + 2 * 16
