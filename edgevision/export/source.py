"""Open the Keras model to export and its description, refusing bad input with one clear line."""

from __future__ import annotations

import json
import re
import sys
import zipfile
from pathlib import Path

from edgevision.errors import UserError
from edgevision.metadata import ModelInfo, read_sidecar

# Layers that run arbitrary Python code on load: Keras refuses them in safe mode.
UNSAFE_LAYERS = ("Lambda",)


def _layer_classes(config) -> list[str]:
    """Every `class_name` in a serialized Keras config, depth first."""
    found = []
    if isinstance(config, dict):
        if isinstance(config.get("class_name"), str):
            found.append(config["class_name"])
        for value in config.values():
            found.extend(_layer_classes(value))
    elif isinstance(config, list):
        for value in config:
            found.extend(_layer_classes(value))
    return found


def read_keras_config(path: Path) -> dict:
    """The `config.json` of a `.keras` archive; UserError when the file is not one."""
    if not path.is_file():
        raise UserError(f"{path} not found: pass the model.keras written by `edgevision train`")
    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a Keras model (.keras zip archive): save it with model.save('model.keras')")
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    except (KeyError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path} is not a Keras model ({exc}): save it with model.save('model.keras')") from exc


def load_keras_model(path, unsafe: bool = False, outputs: int = 1):
    """Load `path` with Keras in safe mode (unless `unsafe`); UserError on anything a user can fix.
    `outputs`: how many outputs the model must have (2 for an SSD detector's raw outputs)."""
    path = Path(path)
    config = read_keras_config(path)
    unsafe_layers = sorted({c for c in _layer_classes(config) if c in UNSAFE_LAYERS})
    if unsafe_layers and not unsafe:
        raise UserError(
            f"{path} contains {', '.join(unsafe_layers)} layer(s), whose Python code would run on load "
            "(unsafe deserialization): pass --unsafe only if you trust where the file comes from"
        )
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=not unsafe)
    except TypeError as exc:
        missing = re.search(r"Could not locate (?:class|function) '([^']+)'", str(exc))
        if missing:
            raise UserError(
                f"{path} uses custom layer '{missing.group(1)}' that Keras cannot find: import the module that "
                "defines it (registered with keras.saving.register_keras_serializable) before exporting"
            ) from exc
        raise
    except ValueError as exc:
        if "safe_mode" in str(exc) or "Lambda" in str(exc):
            raise UserError(
                f"{path} needs unsafe deserialization (Python code on load): pass --unsafe only if you trust "
                "where the file comes from"
            ) from exc
        raise UserError(f"{path} could not be loaded as a Keras model: {str(exc).splitlines()[0]}") from exc
    if len(model.inputs) != 1 or len(model.outputs) != outputs:
        if outputs == 2:
            raise UserError(f"{path} has {len(model.inputs)} input(s) and {len(model.outputs)} output(s): a detector "
                            "exports from its raw outputs (box encodings, class scores), as `edgevision train --task "
                            "detect` saves it")
        raise UserError(
            f"{path} has {len(model.inputs)} input(s) and {len(model.outputs)} output(s): export the "
            "single-input, single-output inference model (e.g. GoogLeNet without its auxiliary heads)"
        )
    return model


def in_model_rescaling(model) -> str | None:
    """Name of a Rescaling/Normalization layer the model applies to its input itself, if any
    (looking into a nested backbone model, as the zoo builds them)."""
    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    if first is None:
        return None
    if type(first).__name__ in ("Rescaling", "Normalization"):
        return first.name
    if hasattr(first, "layers"):
        return in_model_rescaling(first)
    return None


def describe_source(model_path, model) -> ModelInfo:
    """The model's sidecar, or a description guessed from the model with a warning on stderr."""
    model_path = Path(model_path)
    try:
        info = read_sidecar(model_path)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if info is not None:
        return info
    _, height, width, _ = model.inputs[0].shape
    classes = int(model.outputs[0].shape[-1])
    identity = in_model_rescaling(model) is not None
    info = ModelInfo(
        task="classify",
        input_size=(int(height), int(width)),
        labels=[f"class_{i}" for i in range(classes)],
        mean=(0.0, 0.0, 0.0) if identity else (127.5, 127.5, 127.5),
        std=(1.0, 1.0, 1.0) if identity else (127.5, 127.5, 127.5),
    )
    print(
        f"warning: {model_path.with_suffix('.json')} not found: assuming input = (pixel - {info.mean[0]}) / "
        f"{info.std[0]}, RGB, labels class_0..class_{classes - 1}",
        file=sys.stderr,
    )
    return info
