"""GoogLeNet / Inception v1: Szegedy et al. 2014, "Going Deeper with Convolutions",
arXiv:1409.4842. Written here: keras.applications has no Inception v1.

Follows the paper's table 1 and fig. 3: a stem of 7x7/2 convolution, max pooling, 1x1 and 3x3
convolutions, then nine inception modules (3a-3b, 4a-4e, 5a-5b; each with 1x1, 1x1->3x3,
1x1->5x5 and 3x3-max-pool->1x1 branches concatenated), global average pooling, 40% dropout and a
softmax classifier. The training model adds the two auxiliary classifiers of sec. 5 (on 4a and
4d; their losses weigh 0.3, `AUX_LOSS_WEIGHT`); the inference model has no trace of them.

Departures from the paper, on purpose:
- BatchNorm instead of LRN: every convolution is followed by BatchNormalization (Ioffe & Szegedy
  2015) and has no bias, and the two local response normalisation layers are dropped, as in
  torchvision's GoogLeNet. The net then trains from scratch without the paper's careful schedule.
- "same" padding everywhere, so any input of 32 px or more works; below about 80 px the auxiliary
  classifiers' 5x5/3 average pooling shrinks to the size of the feature map.
Input: RGB pixels scaled to [-1, 1] (mean 127.5, std 127.5), as for the MobileNets.
There are no published Keras ImageNet weights for it.

Layout as every zoo model: input `image` -> nested `backbone` -> head. The training model's
backbone has three outputs (4a, 4d, 5b); `inference_model(training_model)` keeps the 5b output
and the main head, sharing layers and so the trained weights.
"""

from __future__ import annotations

import keras
from keras import layers

from edgevision.errors import UserError
from edgevision.models.weights import is_keras3_weights_file, load_keras3_weights

AUX_LOSS_WEIGHT = 0.3
# Loss weights of the training model's outputs [predictions, aux1, aux2].
LOSS_WEIGHTS = (1.0, AUX_LOSS_WEIGHT, AUX_LOSS_WEIGHT)

# Table 1: name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj; "pool" is a 3x3/2 max pool.
INCEPTION_STAGES = (
    ("3a", 64, 96, 128, 16, 32, 32),
    ("3b", 128, 128, 192, 32, 96, 64),
    "pool3",
    ("4a", 192, 96, 208, 16, 48, 64),
    ("4b", 160, 112, 224, 24, 64, 64),
    ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64),
    ("4e", 256, 160, 320, 32, 128, 128),
    "pool4",
    ("5a", 256, 160, 320, 32, 128, 128),
    ("5b", 384, 192, 384, 48, 128, 128),
)
AUXILIARY_TAPS = ("4a", "4d")
HEAD_LAYERS = ("avg_pool", "dropout", "predictions")


def conv_bn_relu(x, filters: int, kernel: int, name: str, strides: int = 1):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=1e-3, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def max_pool(x, name: str):
    return layers.MaxPooling2D(3, strides=2, padding="same", name=name)(x)


def inception_module(x, name, c1x1, c3x3_reduce, c3x3, c5x5_reduce, c5x5, pool_proj):
    """Fig. 3(b): four parallel branches concatenated along channels."""
    prefix = f"inception_{name}"
    branch1 = conv_bn_relu(x, c1x1, 1, f"{prefix}_1x1")
    branch2 = conv_bn_relu(conv_bn_relu(x, c3x3_reduce, 1, f"{prefix}_3x3_reduce"), c3x3, 3, f"{prefix}_3x3")
    branch3 = conv_bn_relu(conv_bn_relu(x, c5x5_reduce, 1, f"{prefix}_5x5_reduce"), c5x5, 5, f"{prefix}_5x5")
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{prefix}_pool")(x)
    branch4 = conv_bn_relu(pooled, pool_proj, 1, f"{prefix}_pool_proj")
    return layers.Concatenate(name=prefix)([branch1, branch2, branch3, branch4])


def googlenet_features(image):
    """Stem and the nine inception modules; returns the outputs of 4a, 4d (auxiliary taps) and 5b."""
    x = conv_bn_relu(image, 64, 7, "conv1_7x7", strides=2)
    x = max_pool(x, "pool1")
    x = conv_bn_relu(x, 64, 1, "conv2_3x3_reduce")
    x = conv_bn_relu(x, 192, 3, "conv2_3x3")
    x = max_pool(x, "pool2")
    taps = {}
    for stage in INCEPTION_STAGES:
        if isinstance(stage, str):
            x = max_pool(x, stage)
            continue
        x = inception_module(x, *stage)
        taps[stage[0]] = x
    return taps[AUXILIARY_TAPS[0]], taps[AUXILIARY_TAPS[1]], x


def classifier_head(features, num_classes: int, dropout: float = 0.4):
    """Average pooling, 40% dropout, linear + softmax (table 1, last rows)."""
    x = layers.GlobalAveragePooling2D(name=HEAD_LAYERS[0])(features)
    x = layers.Dropout(dropout, name=HEAD_LAYERS[1])(x)
    return layers.Dense(num_classes, activation="softmax", name=HEAD_LAYERS[2])(x)


def auxiliary_classifier(x, num_classes: int, name: str):
    """Sec. 5: 5x5/3 average pooling, 1x1 convolution with 128 filters, 1024-unit fully connected
    layer with ReLU, 70% dropout, softmax classifier."""
    pool = min(5, x.shape[1], x.shape[2])
    x = layers.AveragePooling2D(pool, strides=3, padding="valid", name=f"{name}_pool")(x)
    x = conv_bn_relu(x, 128, 1, f"{name}_conv")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = layers.Dense(1024, activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(0.7, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name=name)(x)


def build_googlenet(
    num_classes: int = 1000,
    input_size: tuple[int, int] = (224, 224),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
    training_heads: bool = False,
    dropout: float = 0.4,
) -> keras.Model:
    """GoogLeNet at `input_size` (see registry.build_model). training_heads=True returns the
    training model with outputs [predictions, aux1, aux2] (compile it with `loss=[loss] * 3,
    loss_weights=list(LOSS_WEIGHTS)` and fit it on `(x, (y, y, y))`); `inference_model()` turns
    it into the deployable model. `alpha` must be 1.0. `weights`: None or a `.weights.h5` file."""
    shape = (*input_size, 3)
    image = keras.Input(shape=shape, name="backbone_input")
    aux1_features, aux2_features, features = googlenet_features(image)
    if not include_top:
        backbone = keras.Model(image, features, name="backbone")
        return _load(backbone, weights)

    inputs = keras.Input(shape=shape, name="image")
    name = f"googlenet_{input_size[0]}"
    if training_heads:
        backbone = keras.Model(image, [aux1_features, aux2_features, features], name="backbone")
        tap1, tap2, top = backbone(inputs)
        outputs = [
            classifier_head(top, num_classes, dropout),
            auxiliary_classifier(tap1, num_classes, "aux1"),
            auxiliary_classifier(tap2, num_classes, "aux2"),
        ]
        model = keras.Model(inputs, outputs, name=f"{name}_training")
    else:
        backbone = keras.Model(image, features, name="backbone")
        model = keras.Model(inputs, classifier_head(backbone(inputs), num_classes, dropout), name=name)
    return _load(model, weights)


def inference_model(training_model: keras.Model) -> keras.Model:
    """The inference model of a GoogLeNet training model: the backbone's last output and the main
    head, without the auxiliary classifiers. Layers (and so weights) are shared, not copied."""
    backbone = training_model.get_layer("backbone")
    features_only = keras.Model(backbone.inputs, backbone.outputs[-1], name="backbone")
    inputs = keras.Input(shape=training_model.input_shape[1:], name="image")
    x = features_only(inputs)
    for layer_name in HEAD_LAYERS:
        x = training_model.get_layer(layer_name)(x)
    return keras.Model(inputs, x, name=training_model.name.removesuffix("_training"))


def _load(model, weights):
    if weights is None:
        return model
    if not is_keras3_weights_file(weights):
        raise UserError(
            f"weights file {weights} is not a .weights.h5 file: googlenet loads weights saved from an "
            "edgevision googlenet (model.save_weights('NAME.weights.h5'))"
        )
    load_keras3_weights(model, weights, model.name)
    return model
