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


def scores_from_output(output: np.ndarray, scale=None, zero_point=None, layout="probabilities") -> np.ndarray:
    """A 1-D float32 score vector from a classifier output ([1, C] or [C], possibly quantized)."""
    scores = dequantize(output, scale, zero_point).reshape(-1)
    return softmax(scores) if layout == "logits" else scores


def top_k(scores: np.ndarray, labels, k: int = 5, threshold: float = 0.0) -> list[Class]:
    """The k best classes with score >= threshold, best first (ties: lower index first)."""
    k = max(0, min(int(k), scores.size))
    if k == 0:
        return []
    candidates = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [Class(int(i), label_for(labels, int(i)), float(scores[i])) for i in order if scores[i] >= threshold]
