"""MobileNetV3 Small and Large: Howard et al. 2019, "Searching for MobileNetV3", arXiv:1905.02244.
Built with keras.applications.MobileNetV3Small / MobileNetV3Large.

Built with `include_preprocessing=True`: the model rescales 0..255 pixels to [-1, 1] itself, so
its input normalisation is mean 0, std 1 (registry spec). The width multiplier `alpha` is 0.75 or
1.0, the two the paper publishes.
"""

from __future__ import annotations

from functools import partial

import keras
from keras import layers

from edgevision.models.keras_applications import build_from_application

TOP_LAYERS = ("conv_2", "logits")
LAST_POINT_CHANNELS = {"small": 1024, "large": 1280}  # paper tables 1 and 2, "conv2d 1x1, NBN"


def classifier_head(features, num_classes: int, last_point_channels: int, dropout: float = 0.2):
    """The paper's efficient last stage (sec. 5.3): pool first, then a 1x1 convolution with
    hard-swish, dropout and the 1x1 classifier."""
    x = layers.GlobalAveragePooling2D(keepdims=True, name="global_average_pooling")(features)
    x = layers.Conv2D(last_point_channels, 1, padding="same", use_bias=True, name="conv_2")(x)
    x = layers.Activation("hard_swish", name="conv_2_hard_swish")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 1, padding="same", name="logits")(x)
    x = layers.Flatten(name="flatten")(x)
    return layers.Activation("softmax", name="predictions")(x)


def _build_mobilenet_v3(size, application, num_classes, input_size, alpha, weights, include_top, dropout):
    return build_from_application(
        application,
        partial(classifier_head, last_point_channels=LAST_POINT_CHANNELS[size], dropout=dropout),
        name=f"mobilenet_v3_{size}_{alpha:g}_{input_size[0]}",
        input_size=input_size,
        num_classes=num_classes,
        include_top=include_top,
        weights=weights,
        top_layers=TOP_LAYERS,
        alpha=alpha,
        include_preprocessing=True,
    )


def build_mobilenet_v3_small(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
    dropout: float = 0.2,
) -> keras.Model:
    """MobileNetV3-Small (paper table 2) at `input_size` (see registry.build_model)."""
    return _build_mobilenet_v3(
        "small", keras.applications.MobileNetV3Small, num_classes, input_size, alpha, weights, include_top, dropout
    )


def build_mobilenet_v3_large(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
    dropout: float = 0.2,
) -> keras.Model:
    """MobileNetV3-Large (paper table 1) at `input_size` (see registry.build_model)."""
    return _build_mobilenet_v3(
        "large", keras.applications.MobileNetV3Large, num_classes, input_size, alpha, weights, include_top, dropout
    )
