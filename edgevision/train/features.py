"""Phase 1 of transfer learning on cached features: the frozen backbone runs once per image.

With the backbone frozen (BatchNorm in inference mode) and no augmentation, every epoch of
phase 1 would compute the same backbone output for each image again. Here each image passes
through the backbone once, and the head trains on those features: the same layers, the same
batches in the same order, so the same result as training the whole model, at the cost of the
head alone. The feature-extraction recipe of Keras' guide "Transfer learning & fine-tuning".
"""

from __future__ import annotations

import numpy as np


def head_model(model):
    """A keras.Model from the backbone's output to `model`'s output, sharing `model`'s head layers;
    None when the head is not one chain of layers after the backbone (e.g. auxiliary heads)."""
    import keras

    backbone = model.get_layer("backbone")
    layers = model.layers
    if len(model.outputs) != 1 or layers.index(backbone) != 1:
        return None
    inputs = keras.Input(shape=backbone.output.shape[1:], name="features")
    x = inputs
    for layer in layers[2:]:
        x = layer(x)
    return keras.Model(inputs, x, name=f"{model.name}_head")


def backbone_features(backbone, dataset) -> np.ndarray:
    """The frozen backbone's output for every image of a batched (images, labels) dataset."""
    return backbone.predict(dataset.map(lambda x, y: x), verbose=0)


def feature_dataset(features, labels, batch_size, *, training=False, seed=0):
    """(features, labels) batches shuffled exactly as `pipeline.make_dataset` shuffles images."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((features, labels.astype(np.int32)))
    if training:
        dataset = dataset.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
