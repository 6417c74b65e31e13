"""Multiply-adds of one forward pass, counted from a built Keras graph.

Counts the layers that dominate a vision model's cost: Conv2D, DepthwiseConv2D, SeparableConv2D
and Dense (one multiply-add per weight use; biases, activations, pooling and normalisation are
not counted, as in the MobileNet and GoogLeNet papers). Nested models are walked into, and a
layer shared by several graphs is counted once per call in this graph.
"""

from __future__ import annotations

import math

import keras
from keras import layers


def count_macs(model: keras.Model) -> int:
    """Multiply-adds for one image (batch 1) through `model`."""
    if isinstance(model, keras.Sequential):
        model = model._functional
    total = 0
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            op = node.operation
            if node.is_input or op is None:
                continue
            if isinstance(op, keras.Model):
                total += count_macs(op)
            else:
                total += layer_macs(op, node.input_tensors[0].shape, node.outputs[0].shape)
    return total


def layer_macs(layer, input_shape, output_shape) -> int:
    """Multiply-adds of one call of `layer` (0 for layers this counter does not cost)."""
    if isinstance(layer, layers.SeparableConv2D):
        kh, kw = layer.kernel_size
        c_in = input_shape[-1]
        positions = math.prod(output_shape[1:-1])
        depthwise = positions * kh * kw * c_in * layer.depth_multiplier
        return depthwise + positions * c_in * layer.depth_multiplier * layer.filters
    if isinstance(layer, layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return math.prod(output_shape[1:]) * kh * kw
    if isinstance(layer, layers.Conv2D):
        kh, kw = layer.kernel_size
        return math.prod(output_shape[1:]) * kh * kw * input_shape[-1] // layer.groups
    if isinstance(layer, layers.Dense):
        return math.prod(output_shape[1:]) * input_shape[-1]
    return 0
