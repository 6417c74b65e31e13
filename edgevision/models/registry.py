"""The model zoo's one entry point: which architectures exist, what they expect, how to build one.

`get_spec(name)` and `list_specs()` are pure data (no TensorFlow import), so the CLI can check a
user's choice of model, alpha and input size before paying for the Keras import.
`build_model(...)` validates the same way, then calls the architecture's builder module.

Every classifier `build_model` returns has the same shape: an input layer named `image`, the
feature extractor as a nested model named `backbone` (freeze it with
`model.get_layer("backbone").trainable = False` for transfer learning), then the architecture's
own classifier head sized to `num_classes`. The input is `(pixel - spec.mean) / spec.std` on
0..255 RGB pixels.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from edgevision.errors import UserError
from edgevision.models.weights import WeightsMismatch

WEIGHTS_HELP = "weights must be none, imagenet or the path of a weights file"
# The project's own pretrained MobileNetV2 0.35 backbone (tools/pretrain_backbone.py, synthetic:pretext):
# the demo and the training benchmark start from it, since ImageNet weights cannot be downloaded here.
PRETEXT_BACKBONE = Path(__file__).resolve().parents[2] / "models" / "mobilenet_v2_0.35_96_pretext.weights.h5"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: str  # "module:function" inside edgevision.models
    default_input_size: int
    min_input_size: int
    alphas: tuple[float, ...]
    paper: str
    # Input normalisation the architecture expects: input = (pixel - mean) / std, pixels 0..255 RGB.
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    task: str = "classify"
    # Classes build_model uses when none are given (detectors: object classes, background extra).
    default_num_classes: int = 1000
    # keras.applications publishes ImageNet weights for this architecture ...
    imagenet: bool = True
    # ... at these input sizes only (None: any size the architecture accepts).
    imagenet_input_sizes: tuple[int, ...] | None = None
    notes: str = ""


_SCALED_TO_PLUS_MINUS_ONE = dict(mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5))
_RESCALED_IN_MODEL = dict(mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0),
                          notes="takes 0..255 pixels: the [-1, 1] rescaling is inside the model")

_SPECS = (
    ModelSpec(
        name="mobilenet_v1",
        builder="mobilenet_v1:build_mobilenet_v1",
        default_input_size=224,
        min_input_size=32,
        alphas=(0.25, 0.5, 0.75, 1.0),
        imagenet_input_sizes=(128, 160, 192, 224),
        paper="Howard et al. 2017, MobileNets: Efficient Convolutional Neural Networks for Mobile "
        "Vision Applications, arXiv:1704.04861",
        notes="resolution multiplier rho as input size 128/160/192/224",
        **_SCALED_TO_PLUS_MINUS_ONE,
    ),
    ModelSpec(
        name="mobilenet_v2",
        builder="mobilenet_v2:build_mobilenet_v2",
        default_input_size=224,
        min_input_size=32,
        alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
        imagenet_input_sizes=(96, 128, 160, 192, 224),
        paper="Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks, "
        "arXiv:1801.04381",
        **_SCALED_TO_PLUS_MINUS_ONE,
    ),
    ModelSpec(
        name="mobilenet_v3_small",
        builder="mobilenet_v3:build_mobilenet_v3_small",
        default_input_size=224,
        min_input_size=32,
        alphas=(0.75, 1.0),
        paper="Howard et al. 2019, Searching for MobileNetV3, arXiv:1905.02244",
        **_RESCALED_IN_MODEL,
    ),
    ModelSpec(
        name="mobilenet_v3_large",
        builder="mobilenet_v3:build_mobilenet_v3_large",
        default_input_size=224,
        min_input_size=32,
        alphas=(0.75, 1.0),
        paper="Howard et al. 2019, Searching for MobileNetV3, arXiv:1905.02244",
        **_RESCALED_IN_MODEL,
    ),
    ModelSpec(
        name="xception",
        builder="xception:build_xception",
        default_input_size=299,
        min_input_size=71,
        alphas=(1.0,),
        paper="Chollet 2017, Xception: Deep Learning with Depthwise Separable Convolutions, "
        "arXiv:1610.02357",
        **_SCALED_TO_PLUS_MINUS_ONE,
    ),
    ModelSpec(
        name="googlenet",
        builder="googlenet:build_googlenet",
        default_input_size=224,
        min_input_size=32,
        alphas=(1.0,),
        imagenet=False,
        paper="Szegedy et al. 2014, Going Deeper with Convolutions, arXiv:1409.4842",
        notes="ours; BatchNorm instead of LRN; training_heads=True adds the two auxiliary classifiers",
        **_SCALED_TO_PLUS_MINUS_ONE,
    ),
    ModelSpec(
        name="ssdlite_mobilenet_v2",
        builder="ssdlite:build_ssdlite_mobilenet_v2",
        task="detect",
        default_num_classes=90,
        default_input_size=320,
        min_input_size=32,
        alphas=(0.35, 0.5, 0.75, 1.0, 1.3, 1.4),
        paper="Sandler et al. 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks, sec. 6.2 "
        "SSDLite, arXiv:1801.04381",
        notes="detector: 90 COCO classes + background by default; ImageNet weights for the backbone only",
        **_SCALED_TO_PLUS_MINUS_ONE,
    ),
)


def list_specs() -> list[ModelSpec]:
    """Every architecture in the zoo, in the order `edgevision models` lists them."""
    return list(_SPECS)


def model_names() -> list[str]:
    return [spec.name for spec in _SPECS]


def get_spec(name: str) -> ModelSpec:
    """The spec of `name`; UserError listing the valid names when there is no such model."""
    for spec in _SPECS:
        if spec.name == name:
            return spec
    raise UserError(f"unknown model {name!r}: choose one of {', '.join(model_names())}")


def check_alpha(spec: ModelSpec, alpha) -> float:
    """The allowed alpha equal to `alpha`; UserError naming the allowed ones otherwise."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        value = None
    for allowed in spec.alphas:
        if value is not None and abs(allowed - value) < 1e-6:
            return allowed
    raise UserError(
        f"alpha {alpha} is not available for {spec.name}: choose one of {', '.join(map(str, spec.alphas))}"
    )


def check_input_size(spec: ModelSpec, input_size) -> tuple[int, int]:
    """(height, width) from an int, a pair or None (the default); UserError under the minimum."""
    if input_size is None:
        return spec.default_input_size, spec.default_input_size
    size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if len(size) != 2 or not all(isinstance(s, int) for s in size):
        raise UserError(f"input size {input_size!r} is not a number of pixels or a (height, width) pair")
    if min(size) < spec.min_input_size:
        raise UserError(
            f"input size {input_size} is too small for {spec.name}: the minimum is {spec.min_input_size} px"
        )
    return size


def check_weights(spec: ModelSpec, weights, input_size: tuple[int, int]):
    """None, "imagenet" or an existing Path; UserError for anything that cannot work."""
    if weights is None or (isinstance(weights, str) and weights.lower() == "none"):
        return None
    if isinstance(weights, str) and weights.lower() == "imagenet":
        if not spec.imagenet:
            raise UserError(
                f"{spec.name} has no ImageNet weights (keras.applications does not publish them): "
                "train it from scratch (weights none) or pass a .weights.h5 file with --weights PATH"
            )
        sizes = spec.imagenet_input_sizes
        if sizes and (input_size[0] != input_size[1] or input_size[0] not in sizes):
            raise UserError(
                f"ImageNet weights for {spec.name} exist for square inputs of "
                f"{', '.join(map(str, sizes))} px, not {input_size[0]}x{input_size[1]}: "
                "choose one of those sizes or use weights none"
            )
        return "imagenet"
    path = Path(weights)
    if not path.is_file():
        raise UserError(f"weights file {path} not found: {WEIGHTS_HELP}")
    return path


def build_model(
    name: str,
    num_classes: int | None = None,
    input_size=None,
    alpha: float = 1.0,
    weights=None,
    include_top: bool = True,
    **kw,
):
    """Build `name` as a keras.Model (see the module docstring for its layout).

    weights: None (random), "imagenet" (keras.applications' own download; a failed download is a
    UserError telling how to pass the file instead) or a path: a `.weights.h5` saved from a model
    built with the same arguments (or from its backbone), or a keras.applications `.h5` weights
    file with or without its top. ImageNet weights go into the backbone; the classifier head
    keeps them only when num_classes is 1000, otherwise it starts fresh (transfer learning).
    include_top=False returns the backbone alone (a keras.Model named "backbone").
    num_classes: None means the spec's default_num_classes (1000 for the ImageNet classifiers;
    for a detector the object classes, background not counted).
    Extra keyword arguments go to the builder (GoogLeNet: training_heads=True).
    """
    spec = get_spec(name)
    alpha = check_alpha(spec, alpha)
    size = check_input_size(spec, input_size)
    weights = check_weights(spec, weights, size)
    if num_classes is None:
        num_classes = spec.default_num_classes
    if not isinstance(num_classes, int) or num_classes < 1:
        raise UserError(f"num_classes must be a positive integer, not {num_classes!r}")
    module_name, function_name = spec.builder.split(":")
    module = importlib.import_module(f"edgevision.models.{module_name}")
    builder = getattr(module, function_name)
    try:
        return builder(
            num_classes=num_classes, input_size=size, alpha=alpha, weights=weights, include_top=include_top, **kw
        )
    except WeightsMismatch as exc:
        raise WeightsMismatch(exc.path, exc.what, exc.reason, _fitting_hint(exc.path, spec)) from None


def _fitting_hint(path: Path, spec: ModelSpec) -> str:
    """The fix for a weights file that does not fit `spec`: the models it fits, when any."""
    from edgevision.models.weights_match import fitting_models

    def backbone(candidate, alpha):
        size = max(candidate.min_input_size, 32)
        return build_model(candidate.name, input_size=size, alpha=alpha, include_top=False)

    order = [spec, *(s for s in _SPECS if s is not spec)]
    found = fitting_models(path, order, backbone)
    if not found:
        return "it fits none of the zoo models: pass the file the model was saved with, or --weights none"
    return f"it holds the weights of {' or '.join(found)} (any input size): build that model instead"


def inference_model(model):
    """The model to export or deploy: GoogLeNet's training model without its auxiliary heads, any
    other model as it is. Shares layers (and so trained weights) with `model`."""
    if len(model.outputs) > 1 and model.name.startswith("googlenet"):
        from edgevision.models.googlenet import inference_model as googlenet_inference_model

        return googlenet_inference_model(model)
    return model
