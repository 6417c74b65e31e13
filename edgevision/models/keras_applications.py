"""Build a keras.applications architecture in edgevision's layout.

Layout: input `image` -> nested model `backbone` (the application without its top) -> the
architecture's own classifier head, with its layers named as keras.applications names them so
ImageNet top weights copy across by name. Weights come from nowhere, keras' ImageNet download,
a keras.applications `.h5` file, or a `.weights.h5` saved from an edgevision model.
"""

from __future__ import annotations

from pathlib import Path

import keras

from edgevision.models.weights import (
    imagenet_download,
    is_keras3_weights_file,
    legacy_layer_names,
    load_keras3_weights,
    weights_file,
)


def build_from_application(
    application,
    head,
    *,
    name: str,
    input_size: tuple[int, int],
    num_classes: int,
    include_top: bool,
    weights,
    top_layers: tuple[str, ...],
    imagenet_top_size: int | None = None,
    **application_kwargs,
) -> keras.Model:
    """application: a keras.applications function; head(features, num_classes) -> outputs;
    top_layers: names of the weighted layers of keras' top (they tell a weights file with a top
    from one without); imagenet_top_size: the only input size keras loads ImageNet weights with a
    top at (None: any size)."""
    shape = (*input_size, 3)
    what = f"{name} ({num_classes} classes)" if include_top else f"{name} without top"

    def application_model(**kw):
        return application(input_shape=kw.pop("input_shape", shape), **application_kwargs, **kw)

    keras3_file = isinstance(weights, Path) and is_keras3_weights_file(weights)
    source = None if (weights is None or keras3_file) else weights
    if source == "imagenet":
        source_has_top = include_top and num_classes == 1000
    elif source is not None:
        source_has_top = any(layer in legacy_layer_names(source) for layer in top_layers)
    else:
        source_has_top = False

    if source_has_top:
        # Load the file with its top into keras' own model, then copy by layer name.
        top_shape = (imagenet_top_size, imagenet_top_size, 3) if source == "imagenet" and imagenet_top_size else shape
        with imagenet_download(name) if source == "imagenet" else weights_file(source, what):
            reference = application_model(include_top=True, weights=_keras_weights(source), input_shape=top_shape)
        backbone = application_model(include_top=False, weights=None, name="backbone")
        copy_weights_by_name(reference, backbone)
    else:
        reference = None
        if source == "imagenet":
            with imagenet_download(name):
                backbone = application_model(include_top=False, weights="imagenet", name="backbone")
        elif source is not None:
            with weights_file(source, what):
                backbone = application_model(include_top=False, weights=str(source), name="backbone")
        else:
            backbone = application_model(include_top=False, weights=None, name="backbone")

    if include_top:
        model = attach_head(backbone, head, num_classes, name=name)
        if reference is not None and num_classes == reference.output_shape[-1]:
            copy_weights_by_name(reference, model, only=top_layers)
    else:
        model = backbone
    if keras3_file:
        load_keras3_weights(model, weights, what)
    return model


def attach_head(backbone: keras.Model, head, num_classes: int, name: str) -> keras.Model:
    inputs = keras.Input(shape=backbone.input_shape[1:], name="image")
    return keras.Model(inputs, head(backbone(inputs), num_classes), name=name)


def weighted_layers(model):
    """Layers holding weights, looking inside nested models."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from weighted_layers(layer)
        elif layer.weights:
            yield layer


def copy_weights_by_name(source: keras.Model, target: keras.Model, only=None) -> None:
    """Copy every weighted layer of `target` (or those named in `only`) from `source`'s layer of
    the same name; a missing layer is an internal error (the two graphs must match)."""
    by_name = {layer.name: layer for layer in weighted_layers(source)}
    for layer in weighted_layers(target):
        if only is None or layer.name in only:
            layer.set_weights(by_name[layer.name].get_weights())


def _keras_weights(source):
    return source if source in (None, "imagenet") else str(source)
