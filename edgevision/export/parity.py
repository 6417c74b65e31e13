"""Do the exported files still give the Keras model's answers? Measured on held-out images.

Reference: the Keras model on `(pixel - mean) / std`. Candidates: the exported files run the
way a device runs them (quantized input from the tensor's scale / zero point).
"""

from __future__ import annotations

import numpy as np

from edgevision.metadata import ModelInfo
from edgevision.runtime.preprocess import normalise

# Float exports must match Keras this closely (top-1 agreement, largest probability difference).
FLOAT_MIN_AGREEMENT = 0.999
FLOAT_MAX_DIFF = 1e-3
# A disagreement is a near-tie when Keras itself put the two classes within this probability.
NEAR_TIE_MARGIN = 0.1


def _probabilities(scores: np.ndarray, output_layout: str) -> np.ndarray:
    scores = scores.astype(np.float64)
    if output_layout == "logits":
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
    return scores


def keras_scores(model, images: np.ndarray, info: ModelInfo, batch_size: int = 32) -> np.ndarray:
    return np.asarray(model.predict(normalise(images, info), batch_size=batch_size, verbose=0))


def compare(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray, output_layout="probabilities") -> dict:
    """top1_agreement, accuracy, accuracy_drop, max_abs_diff of a candidate against the reference,
    and how many of the images it disagrees on are near-ties for the reference itself."""
    ref, cand = _probabilities(reference, output_layout), _probabilities(candidate, output_layout)
    ref_top, cand_top = ref.argmax(axis=1), cand.argmax(axis=1)
    rows = np.arange(len(ref))
    disagree = ref_top != cand_top
    margin = ref[rows, ref_top] - ref[rows, cand_top]
    known = labels >= 0
    accuracy = float((cand_top[known] == labels[known]).mean()) if known.any() else None
    ref_accuracy = float((ref_top[known] == labels[known]).mean()) if known.any() else None
    return {
        "top1_agreement": float((ref_top == cand_top).mean()),
        "accuracy": accuracy,
        "accuracy_drop": None if accuracy is None else ref_accuracy - accuracy,
        "max_abs_diff": float(np.abs(ref - cand).max()),
        "disagreements": int(disagree.sum()),
        "near_ties": int((disagree & (margin < NEAR_TIE_MARGIN)).sum()),
    }


def check(measured: dict, quantization: str, min_agreement: float) -> list[str]:
    """Reasons the artifact fails its parity check (empty when it passes)."""
    failures = []
    agreement = measured["top1_agreement"]
    if quantization == "none":
        if agreement < FLOAT_MIN_AGREEMENT:
            failures.append(f"top-1 agreement {agreement:.2%} < {FLOAT_MIN_AGREEMENT:.1%}")
        if measured["max_abs_diff"] > FLOAT_MAX_DIFF:
            failures.append(f"probability difference {measured['max_abs_diff']:.2g} > {FLOAT_MAX_DIFF:g}")
    elif agreement < min_agreement:
        failures.append(f"top-1 agreement {agreement:.2%} < {min_agreement:.1%}")
    return failures
