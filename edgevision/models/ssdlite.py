"""SSDLite with a MobileNetV2 backbone: Sandler et al. 2018, "MobileNetV2: Inverted Residuals and
Linear Bottlenecks", arXiv:1801.04381, sec. 6.2; SSD itself is Liu et al. 2016, arXiv:1512.02325.
Laid out as the TensorFlow Object Detection API's `ssdlite_mobilenet_v2` model.

- Backbone: keras.applications.MobileNetV2 without its top, tapped at the expansion output of
  block 13 (stride 16, 576 channels at alpha 1) and at its last layer (stride 32, 1280 channels);
  a nested model named `backbone` with those two outputs.
- Four extra layers halve the resolution down to 1x1 (depths 512, 256, 256, 128 times alpha, at
  least 16): each a 1x1 convolution to half the depth, then a 3x3/2 depthwise and a 1x1
  convolution, with BatchNorm and ReLU6 after each.
- SSDLite predictors (the paper's change to SSD): on each of the six feature maps, a 3x3
  depthwise convolution (BatchNorm, ReLU6) and a 1x1 convolution, one pair for box encodings and
  one for class scores, with separate weights per feature map.
- Anchors as the TF OD API's `ssd_anchor_generator`: see `anchor_boxes`.

Outputs: `box_encodings` [batch, N, 4] as (ty, tx, th, tw) against the anchors (Faster R-CNN box
coder, scales `runtime.detection.BOX_CODER_SCALES`), and `class_scores` [batch, N, num_classes + 1] after a
sigmoid, index 0 the background (its scores start near 1 - CLASS_PRIOR, the objects' near
CLASS_PRIOR). `model.get_layer("class_logits").output` is the same before the
sigmoid (for a loss on logits). Input: RGB pixels scaled to [-1, 1] (mean 127.5, std 127.5).
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import keras
import numpy as np
from keras import layers

from edgevision.models.weights import (
    imagenet_download,
    is_keras3_weights_file,
    load_keras3_weights,
    weights_file,
)

EXPANSION_TAP = "block_13_expand_relu"  # stride 16
EXTRA_LAYER_DEPTHS = (512, 256, 256, 128)
MIN_DEPTH = 16
NUM_LAYERS = 6
MIN_SCALE, MAX_SCALE = 0.2, 0.95
ASPECT_RATIOS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)
INTERPOLATED_SCALE_ASPECT_RATIO = 1.0
CLASS_PRIOR = 0.01  # class logits start at log(p / (1 - p)) so sigmoid scores start near p


def box_specs(num_layers=NUM_LAYERS, min_scale=MIN_SCALE, max_scale=MAX_SCALE, aspect_ratios=ASPECT_RATIOS,
              interpolated_scale_aspect_ratio=INTERPOLATED_SCALE_ASPECT_RATIO, reduce_boxes_in_lowest_layer=True):
    """(scale, aspect ratio) of the anchors at each location, per layer (OD API create_ssd_anchors):
    scales evenly spaced from min_scale to max_scale, one box per aspect ratio plus one at the
    geometric mean of this layer's and the next layer's scale; the first layer has 3 boxes."""
    scales = [min_scale + (max_scale - min_scale) * i / (num_layers - 1) for i in range(num_layers)] + [1.0]
    specs = []
    for layer in range(num_layers):
        scale, next_scale = scales[layer], scales[layer + 1]
        if layer == 0 and reduce_boxes_in_lowest_layer:
            specs.append([(0.1, 1.0), (scale, 2.0), (scale, 0.5)])
            continue
        layer_specs = [(scale, ratio) for ratio in aspect_ratios]
        if interpolated_scale_aspect_ratio > 0:
            layer_specs.append((math.sqrt(scale * next_scale), interpolated_scale_aspect_ratio))
        specs.append(layer_specs)
    return specs


def feature_map_sizes(input_size=(320, 320), num_layers=NUM_LAYERS) -> list[tuple[int, int]]:
    """(height, width) of the six feature maps: stride 16, stride 32, then halved ("same" padding)."""
    h, w = (math.ceil(s / 16) for s in input_size)
    sizes = [(h, w)]
    for _ in range(num_layers - 1):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
        sizes.append((h, w))
    return sizes


def anchor_boxes(input_size=(320, 320), **box_spec_kw) -> np.ndarray:
    """Anchors [N, 4] as (ycenter, xcenter, height, width), normalised to the image, in the order
    the model predicts them: layer by layer, row by row, column by column, box by box.
    A box of scale s and aspect ratio a is s / sqrt(a) high and s * sqrt(a) wide (square in
    pixels on a non-square image, as the OD API does); centres sit in the middle of each cell."""
    shortest = min(input_size)
    base_h, base_w = shortest / input_size[0], shortest / input_size[1]
    anchors = []
    for (fh, fw), specs in zip(feature_map_sizes(input_size), box_specs(**box_spec_kw), strict=True):
        heights = np.array([s / math.sqrt(a) * base_h for s, a in specs])
        widths = np.array([s * math.sqrt(a) * base_w for s, a in specs])
        yc, xc = np.meshgrid((np.arange(fh) + 0.5) / fh, (np.arange(fw) + 0.5) / fw, indexing="ij")
        k = len(specs)
        grid = np.stack(
            [
                np.repeat(yc.reshape(-1), k),
                np.repeat(xc.reshape(-1), k),
                np.tile(heights, fh * fw),
                np.tile(widths, fh * fw),
            ],
            axis=-1,
        )
        anchors.append(grid)
    return np.concatenate(anchors).astype(np.float32)


def _conv_bn_relu6(x, filters, name):
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.997, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x)


def _depthwise_bn_relu6(x, strides, name):
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.997, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x)


def extra_layer(x, depth: int, alpha: float, name: str):
    """1x1 convolution to depth / 2, then a depthwise-separable 3x3/2 convolution to `depth`
    (depths times alpha, at least MIN_DEPTH)."""
    x = _conv_bn_relu6(x, max(int(depth / 2 * alpha), MIN_DEPTH), f"{name}_1x1")
    x = _depthwise_bn_relu6(x, 2, f"{name}_3x3_depthwise")
    return _conv_bn_relu6(x, max(int(depth * alpha), MIN_DEPTH), f"{name}_3x3_pointwise")


def predictor(x, boxes_per_location: int, values_per_box: int, name: str, bias_init=0.0):
    """SSDLite predictor: 3x3 depthwise (BatchNorm, ReLU6) then a 1x1 convolution; -> [batch, cells * boxes, values]."""
    x = _depthwise_bn_relu6(x, 1, f"{name}_depthwise")
    x = layers.Conv2D(
        boxes_per_location * values_per_box,
        1,
        padding="same",
        bias_initializer=keras.initializers.Constant(bias_init),
        name=name,
    )(x)
    return layers.Reshape((-1, values_per_box), name=f"{name}_reshape")(x)


def _background_prior(layer, values_per_box: int):
    """Background logits start at log((1 - p) / p): nearly every anchor is background, and a
    background score starting near CLASS_PRIOR would cost the first epoch of training."""
    kernel, bias = layer.get_weights()
    bias.reshape(-1, values_per_box)[:, 0] = math.log((1 - CLASS_PRIOR) / CLASS_PRIOR)
    layer.set_weights([kernel, bias])


def build_ssdlite_mobilenet_v2(
    num_classes: int = 90,
    input_size: tuple[int, int] = (320, 320),
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
) -> keras.Model:
    """SSDLite + MobileNetV2 detecting `num_classes` object classes (plus background) at
    `input_size`. weights: None, "imagenet" (backbone only; the heads start fresh), a
    keras.applications MobileNetV2 `.h5` file without top (backbone), or a `.weights.h5` saved from
    this model or its backbone. include_top=False returns the two-output backbone."""
    shape = (*input_size, 3)
    keras3_file = isinstance(weights, Path) and is_keras3_weights_file(weights)
    backbone_weights = None if (weights is None or keras3_file) else weights
    name = f"ssdlite_mobilenet_v2_{alpha:g}_{input_size[0]}"
    if backbone_weights == "imagenet":
        context = imagenet_download(name)
    elif backbone_weights is not None:
        context = weights_file(backbone_weights, f"the MobileNetV2 {alpha:g} backbone of {name}")
        backbone_weights = str(backbone_weights)
    else:
        context = contextlib.nullcontext()
    with context:
        mobilenet = keras.applications.MobileNetV2(
            input_shape=shape, alpha=alpha, include_top=False, weights=backbone_weights
        )
    backbone = keras.Model(
        mobilenet.input, [mobilenet.get_layer(EXPANSION_TAP).output, mobilenet.output], name="backbone"
    )
    if not include_top:
        model = backbone
    else:
        image = keras.Input(shape=shape, name="image")
        features = list(backbone(image))
        x = features[-1]
        for i, depth in enumerate(EXTRA_LAYER_DEPTHS, start=1):
            x = extra_layer(x, depth, alpha, f"extra_{i}")
            features.append(x)
        expected = feature_map_sizes(input_size)
        assert [tuple(f.shape[1:3]) for f in features] == expected, (features, expected)

        prior_logit = math.log(CLASS_PRIOR / (1 - CLASS_PRIOR))
        boxes, classes = [], []
        for i, (feature, specs) in enumerate(zip(features, box_specs(), strict=True)):
            boxes.append(predictor(feature, len(specs), 4, f"box_predictor_{i}"))
            classes.append(predictor(feature, len(specs), num_classes + 1, f"class_predictor_{i}", prior_logit))
        box_encodings = layers.Concatenate(axis=1, name="box_encodings")(boxes)
        class_logits = layers.Concatenate(axis=1, name="class_logits")(classes)
        class_scores = layers.Activation("sigmoid", name="class_scores")(class_logits)
        model = keras.Model(image, [box_encodings, class_scores], name=name)
        for i in range(len(features)):
            _background_prior(model.get_layer(f"class_predictor_{i}"), num_classes + 1)
    if keras3_file:
        load_keras3_weights(model, weights, name)
    return model
