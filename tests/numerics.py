"""Tolerances derived from the arithmetic, for tests that compare two implementations of one model.

float32. LiteRT (XNNPACK), ONNX Runtime (MLAS) and TensorFlow (oneDNN / Eigen) add the same products in
different orders, with or without fused multiply-add, blocked for AVX2, AVX-512 or NEON: their results
differ by rounding only, by an amount that depends on the CPU. A float32 sum of n products errs by at
most gamma(n) = n*u / (1 - n*u) times the sum of the products' magnitudes (Higham, Accuracy and
Stability of Numerical Algorithms, 2nd ed., section 3.1), u = 2**-24. To first order the relative
errors of successive layers add up, so a network's output errs by at most R * Z, where R sums gamma
over its weight layers (`float32_relative_error`; every layer of every branch is counted, which is
more than any one path through the network) and Z is the magnitude sum|w * x| + |b| of its last
layer (`output_term_magnitude`). Two implementations, each within R * Z of the exact value, differ by
at most 2 * R * Z.

int8. A requantised tensor may round to the neighbouring step in one runtime and not in another, so
quantized results differ by whole steps of their scale (`INT8_STEPS_APART`).
"""

from __future__ import annotations

import re

import numpy as np

UNIT_ROUNDOFF = 2.0**-24  # float32
ROUNDINGS_PER_LAYER = 3  # beyond the dot product: bias add, folded normalisation, activation
# Per-step rounding differences between two int8 runtimes (TFLite's and ONNX Runtime's requantisation).
INT8_STEPS_APART = 1


def gamma(n: int) -> float:
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


def fan_ins(model) -> list[int]:
    """Terms summed per output value in every weight layer of a Keras model (nested models too)."""
    found = []
    for weight in model.weights:
        if not weight.path.endswith("kernel") or len(weight.shape) < 2:
            continue
        shape = tuple(int(d) for d in weight.shape)
        # depthwise kernels are (kh, kw, channels, multiplier): each output sums kh * kw terms
        found.append(int(np.prod(shape[:2])) if "depthwise" in weight.path else int(np.prod(shape[:-1])))
    return found


def float32_relative_error(model) -> float:
    """R: the bound on a float32 forward pass's error relative to its last layer's term magnitude."""
    return sum(gamma(n + ROUNDINGS_PER_LAYER) for n in fan_ins(model))


def output_term_magnitude(model, layer_pattern: str, inputs: np.ndarray) -> float:
    """Z: the largest sum|w * x| + |b| of the 1x1 convolutions named by `layer_pattern` on `inputs`."""
    import keras

    heads = [layer for layer in model.layers if re.fullmatch(layer_pattern, layer.name)]
    assert heads, f"no layer matches {layer_pattern!r}"
    for layer in heads:
        assert len(layer.kernel.shape) == 2 or tuple(layer.kernel.shape[:2]) == (1, 1), \
            f"{layer.name}: a Dense layer or a 1x1 convolution is expected"
    try:
        features = keras.Model(model.inputs, [layer.input for layer in heads])([inputs])
    except ValueError:  # a model Keras cannot cut (e.g. two layers named "image"): a chain, run layer by layer
        assert len(heads) == 1, f"{layer_pattern!r}: cannot cut this model at several layers"
        features = inputs
        for layer in model.layers:
            if layer is heads[0]:
                break
            if not isinstance(layer, keras.layers.InputLayer):
                features = layer(features, training=False)
    largest = 0.0
    for layer, x in zip(heads, features if len(heads) > 1 else [features], strict=True):
        kernel, bias = (np.abs(np.asarray(w, np.float64)) for w in layer.get_weights())
        terms = np.abs(np.asarray(x, np.float64)) @ kernel.reshape(kernel.shape[-2:]) + bias
        largest = max(largest, float(terms.max()))
    return largest


def float32_difference(model, layer_pattern: str, inputs: np.ndarray) -> float:
    """2 * R * Z: how far apart two float32 implementations of `model` may put those layers' outputs."""
    return 2 * float32_relative_error(model) * output_term_magnitude(model, layer_pattern, inputs)


SIGMOID_MAX_SLOPE = 0.25
# softmax: dp_i = p_i * sum_j p_j (dz_i - dz_j), so |dp_i| <= 2 p_i (1 - p_i) max|dz| <= max|dz| / 2
SOFTMAX_MAX_SLOPE = 0.5


def ssd_box_difference(encoding_difference: float, box_coder_scales, pixels: float) -> float:
    """Largest shift of a decoded box corner, in pixels of a `pixels`-wide picture, when the encodings
    (ty, tx, th, tw) move by `encoding_difference`: the centre moves by dt / scale_yx * anchor size and
    the half-size by h * dt / (2 * scale_hw), both at most the picture's size (boxes are clipped to it)."""
    scale_yx, scale_hw = min(box_coder_scales[:2]), min(box_coder_scales[2:])
    return pixels * encoding_difference * (1 / scale_yx + 1 / (2 * scale_hw))


def assert_same_detections(a, b, score_tol: float, box_tol: float, threshold: float) -> int:
    """Two runtimes' detections, each (class, score, box), agree within the tolerances: every detection
    scoring at least threshold + score_tol in one list has a partner in the other (same class, score
    and box within tolerance). Order is not compared: scores closer than score_tol may sort either way,
    and a score within score_tol of the threshold may be kept by one runtime only. Returns the pairs."""
    pairs = 0
    for first, second in ((a, b), (b, a)):
        free = list(second)
        for cls, score, box in first:
            if score < threshold + score_tol:
                continue
            partner = next((d for d in free if d[0] == cls and abs(d[1] - score) <= score_tol
                            and np.max(np.abs(np.subtract(d[2], box))) <= box_tol), None)
            assert partner is not None, f"no partner for {(cls, score, tuple(box))} among {second}"
            free.remove(partner)
            pairs += 1
    return pairs // 2


def last_weight_layer(model) -> str:
    """The name of a classifier's last Dense layer or 1x1 convolution (the one before the softmax)."""
    for layer in reversed(model.layers):
        kernel = getattr(layer, "kernel", None)
        if kernel is not None and (len(kernel.shape) == 2 or tuple(kernel.shape[:2]) == (1, 1)):
            return layer.name
    raise AssertionError("no Dense or 1x1 convolution at the top of the model")


def classifier_float32_agreement(model, inputs: np.ndarray) -> tuple[float, int]:
    """(probability tolerance, images whose top-1 may flip) between two float32 implementations of a
    softmax classifier on `inputs`: the top-1 can only change where its margin over the second class
    is at most twice the tolerance."""
    tolerance = SOFTMAX_MAX_SLOPE * float32_difference(model, last_weight_layer(model), inputs)
    probabilities = np.sort(np.asarray(model.predict(inputs, verbose=0)), axis=1)
    return tolerance, int(np.sum(probabilities[:, -1] - probabilities[:, -2] <= 2 * tolerance))
