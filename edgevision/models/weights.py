"""Loading a model's starting weights: keras.applications' ImageNet download, or a local file.

Two kinds of file are accepted as `weights=PATH`:
- a Keras 3 `.weights.h5` saved from a model `build_model` returned (`model.save_weights`), or
  from its backbone (`model.get_layer("backbone").save_weights`);
- a keras.applications `.h5` weights file (the file `weights="imagenet"` would download, with or
  without its top), for machines that cannot reach the download.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

from edgevision.errors import UserError


def is_keras3_weights_file(path: Path) -> bool:
    return str(path).endswith(".weights.h5")


def legacy_layer_names(path: Path) -> list[str]:
    """Layer names stored in a keras.applications (legacy HDF5) weights file."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            group = f["model_weights"] if "model_weights" in f else f
            names = group.attrs.get("layer_names")
    except OSError as exc:
        raise UserError(f"weights file {path} is not an HDF5 weights file ({exc})") from None
    if names is None:
        raise UserError(
            f"weights file {path} holds no Keras layer weights: pass a .weights.h5 saved by "
            "Keras 3 or a keras.applications .h5 weights file"
        )
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


@contextlib.contextmanager
def imagenet_download(model_name: str):
    """Turn a failed keras.applications download into one UserError line saying what to do."""
    try:
        yield
    except Exception as exc:
        # keras' get_file raises a bare Exception ("URL fetch failure on URL: ...") or an OSError.
        if type(exc) is not Exception and not isinstance(exc, OSError):
            raise
        reason = " ".join(str(exc).split())
        raise UserError(
            f"downloading the ImageNet weights of {model_name} failed ({reason}): download that file "
            "on a machine with internet access and pass it with --weights PATH"
        ) from None


class WeightsMismatch(UserError):
    """A weights file that does not fit the model being built."""

    def __init__(self, path: Path, what: str, reason: str, fix: str = ""):
        self.path, self.what, self.reason = path, what, reason
        fix = fix or "build the model with the architecture, alpha, input size and classes the file was saved with"
        super().__init__(f"weights file {path} does not fit {what} ({reason}): {fix}")


@contextlib.contextmanager
def weights_file(path: Path, what: str):
    """Turn a weights file that does not fit the model into one UserError line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except ValueError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsMismatch(path, what, first_line.split(". Example")[0][:200]) from None


def load_keras3_weights(model, path: Path, what: str) -> None:
    """Load a `.weights.h5` saved from this model, or from its backbone, into `model`."""
    backbone = _backbone_or_none(model)
    if backbone is None:
        with weights_file(path, what):
            model.load_weights(path)
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(path)
    except ValueError:
        with weights_file(path, f"{what} or its backbone"):
            backbone.load_weights(path)


def _backbone_or_none(model):
    try:
        return model.get_layer("backbone")
    except ValueError:
        return None
