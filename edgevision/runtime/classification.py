"""Classification post-processing: pure functions over a model's score vector.

    top_k(scores, labels, k=5, threshold=0.0) -> [Class(index, label, score), ...]

Indices are the model's output indices: for the 1001-output ImageNet models index 0 is
"background" and 286 is "Egyptian cat" (labels lined up by `labels.align_labels`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from edgevision.runtime.labels import label_for


class Class(NamedTuple):
    index: int
    label: str
    score: float


def dequantize(array: np.ndarray, scale: float | None, zero_point: int | None) -> np.ndarray:
    """Real values of an output tensor: scale * (q - zero_point); float tensors pass through."""
    if scale is None:
        return np.asarray(array, dtype=np.float32)
    return (np.asarray(array, dtype=np.float32) - np.float32(zero_point)) * np.float32(scale)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits))
    return shifted / shifted.sum()


PROBABILITIES, SOFTMAX_OF_LOGITS = "probabilities", "softmax of logits"


def scores_from_output(output: np.ndarray, scale=None, zero_point=None, layout="probabilities") -> np.ndarray:
    """A 1-D float32 score vector from a classifier output ([1, C] or [C], possibly quantized)."""
    return output_scores(output, scale, zero_point, layout)[0]


def output_scores(output: np.ndarray, scale=None, zero_point=None, layout="probabilities",
                  check: bool = False) -> tuple[np.ndarray, str]:
    """(1-D float32 scores, PROBABILITIES or SOFTMAX_OF_LOGITS) from a classifier output.

    `layout` is the description's word; with `check` (a model described from its tensors
    alone) an output that is not a probability distribution is taken for logits.
    """
    scores = dequantize(output, scale, zero_point).reshape(-1)
    if layout == "logits" or (check and not is_distribution(scores, output.dtype, scale, zero_point)):
        return softmax(scores), SOFTMAX_OF_LOGITS
    return scores, PROBABILITIES


def is_distribution(scores: np.ndarray, dtype, scale=None, zero_point=None) -> bool:
    """True for probabilities: no negative value and a sum of 1, give or take the rounding.

    A quantized output whose whole range lies in [0, 1] holds probabilities whatever they sum
    to (each of N values is off by up to scale / 2). Float sums: 1 within 1e-3 (float16
    softmax outputs, each rounded to 2**-11 relative, over a thousand classes).
    """
    if scale is not None:
        info = np.iinfo(dtype)
        low, high = scale * (info.min - zero_point), scale * (info.max - zero_point)
        if low >= 0 and high <= 1 + scale:
            return True
        tolerance = 1e-3 + scores.size * scale / 2
    else:
        tolerance = 1e-3
    return bool(scores.min(initial=0.0) >= 0 and abs(float(scores.sum(dtype=np.float64)) - 1) <= tolerance)


def top_k(scores: np.ndarray, labels, k: int = 5, threshold: float = 0.0) -> list[Class]:
    """The k best classes with score >= threshold, best first (ties: lower index first)."""
    k = max(0, min(int(k), scores.size))
    if k == 0:
        return []
    candidates = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [Class(int(i), label_for(labels, int(i)), float(scores[i])) for i in order if scores[i] >= threshold]
