"""Xception: Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions",
arXiv:1610.02357. Built with keras.applications.Xception.

Entry, middle (8 repeats) and exit flows of depthwise separable convolutions with residual
connections (paper fig. 5). Default input 299 px, at least 71 px; no width multiplier. Keras
loads ImageNet weights with the top at 299 px only: at other sizes the top weights are loaded at
299 px and copied (the head is size-independent after global pooling).
"""

from __future__ import annotations

import keras
from keras import layers

from edgevision.models.keras_applications import build_from_application

TOP_LAYERS = ("predictions",)


def classifier_head(features, num_classes: int):
    """Global average pooling and a softmax fully connected layer (paper fig. 5, exit flow)."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    return layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def build_xception(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (299, 299),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
) -> keras.Model:
    """Xception at `input_size` (see registry.build_model); `alpha` must be 1.0."""
    return build_from_application(
        keras.applications.Xception,
        classifier_head,
        name=f"xception_{input_size[0]}",
        input_size=input_size,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        top_layers=TOP_LAYERS,
        imagenet_top_size=299,
    )
