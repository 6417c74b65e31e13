"""MobileNetV2: Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
arXiv:1801.04381. Built with keras.applications.MobileNetV2.

The width multiplier `alpha` (0.35, 0.5, 0.75, 1.0, 1.3, 1.4) scales every bottleneck; the
last 1x1 convolution keeps 1280 channels for alpha <= 1 (paper sec. 5.1). ImageNet weights exist
for inputs of 96, 128, 160, 192 and 224 px.
"""

from __future__ import annotations

import keras
from keras import layers

from edgevision.models.keras_applications import build_from_application

TOP_LAYERS = ("predictions",)


def classifier_head(features, num_classes: int):
    """Average pool and a softmax fully connected layer (paper table 2, last rows)."""
    x = layers.GlobalAveragePooling2D(name="global_average_pooling")(features)
    return layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def build_mobilenet_v2(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
) -> keras.Model:
    """MobileNetV2 with width multiplier `alpha` at `input_size` (see registry.build_model)."""
    return build_from_application(
        keras.applications.MobileNetV2,
        classifier_head,
        name=f"mobilenet_v2_{alpha:g}_{input_size[0]}",
        input_size=input_size,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        top_layers=TOP_LAYERS,
        alpha=alpha,
    )
