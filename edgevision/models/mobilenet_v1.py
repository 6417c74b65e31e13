"""MobileNetV1: Howard et al. 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", arXiv:1704.04861. Built with keras.applications.MobileNet.

Two hyperparameters trade accuracy for cost (paper sec. 3.3-3.4): the width multiplier `alpha`
(0.25, 0.5, 0.75, 1.0) thins every layer, the resolution multiplier rho is the input size
(128, 160, 192, 224 for the published ImageNet weights; any size >= 32 without them).
"""

from __future__ import annotations

from functools import partial

import keras
from keras import layers

from edgevision.models.keras_applications import build_from_application

TOP_LAYERS = ("conv_preds",)


def classifier_head(features, num_classes: int, dropout: float = 1e-3):
    """The paper's classifier as keras writes it: average pool, dropout, 1x1 convolution, softmax."""
    x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling")(features)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, padding="same", name="conv_preds")(x)
    x = layers.Reshape((num_classes,), name="reshape_2")(x)
    return layers.Activation("softmax", name="predictions")(x)


def build_mobilenet_v1(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
    dropout: float = 1e-3,
) -> keras.Model:
    """MobileNetV1 with width multiplier `alpha` at `input_size` (see registry.build_model)."""
    return build_from_application(
        keras.applications.MobileNet,
        partial(classifier_head, dropout=dropout),
        name=f"mobilenet_v1_{alpha:g}_{input_size[0]}",
        input_size=input_size,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        top_layers=TOP_LAYERS,
        alpha=alpha,
    )
