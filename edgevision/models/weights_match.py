"""Which zoo models a weights file fits: the hint in the error when it does not fit the one asked for.

A file fits a model when it holds exactly the arrays of that model's backbone (a backbone or a
keras.applications no-top file), or those plus a few head arrays (a whole classifier). The
arrays' shapes do not depend on the input size of these convolutional backbones.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

MAX_HEAD_ARRAYS = 4  # a classifier head holds at most this many arrays beyond its backbone


def file_shapes(path: Path) -> Counter:
    """The shapes of every array stored in a Keras 3 `.weights.h5` or a legacy Keras `.h5` file."""
    import h5py

    shapes = Counter()

    def visit(_, obj):
        if isinstance(obj, h5py.Dataset):
            shapes[tuple(obj.shape)] += 1

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return shapes


def _fits(model_shapes: Counter, stored: Counter) -> bool:
    extra = stored - model_shapes
    return not (model_shapes - stored) and sum(extra.values()) <= MAX_HEAD_ARRAYS


def fitting_models(path: Path, specs, build_backbone) -> list[str]:
    """`name --alpha A` of the models whose backbone the file fits (any input size), from the first
    of `specs` (ModelSpecs, in the order to try) that fits at one of its alphas or more;
    build_backbone(spec, alpha) -> the keras backbone."""
    import keras

    stored = file_shapes(path)
    for spec in specs:
        found = []
        for alpha in spec.alphas:
            backbone = build_backbone(spec, alpha)
            if _fits(Counter(tuple(w.shape) for w in backbone.weights), stored):
                found.append(f"{spec.name} --alpha {alpha:g}")
            keras.backend.clear_session()
        if found:
            return found
    return []
