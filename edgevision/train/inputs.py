"""The tf.data input pipeline: in-memory uint8 RGB images -> augmented (training only) -> normalised.

Normalisation happens here, not inside the model: `runtime.preprocess.normalise` with the
description the run writes as its sidecar (colour order, mean, std), so export and runtime apply
exactly the same. The
augmentation layers (flip, rotation, zoom, contrast, as in Keras' transfer-learning guides)
run inside the training pipeline only: they never become part of the saved model, so the
inference graph converts to TFLite untouched.
"""

from __future__ import annotations

import numpy as np

from edgevision.runtime.preprocess import normalise


def augmentation(seed: int):
    """Keras preprocessing layers for fine-tuning; they work on 0..255 pixels."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.1, fill_mode="reflect", seed=seed + 1),
            keras.layers.RandomZoom(0.1, fill_mode="reflect", seed=seed + 2),
            keras.layers.RandomContrast(0.2, value_range=(0, 255), seed=seed + 3),
        ],
        name="augmentation",
    )


def make_dataset(images, labels, batch_size, info, *, training=False, augment=False, seed=0, num_outputs=1):
    """A batched, cached, prefetched tf.data.Dataset of (float32 images normalised as `info`, the
    model's `ModelInfo`, describes, labels).

    num_outputs > 1 repeats the labels for models with auxiliary heads (GoogLeNet).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32))).cache()
    if training:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    augmenter = augmentation(seed) if augment else None

    def prepare(x, y):
        x = tf.cast(x, tf.float32)
        if augmenter is not None:
            x = augmenter(x, training=True)
        x = normalise(x, info)
        return x, (tuple([y] * num_outputs) if num_outputs > 1 else y)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = True
    return dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).with_options(options)
