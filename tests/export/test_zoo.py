"""Every classification zoo model exports in every mode, and every file runs in the edgevision runtime.

One export per model (TFLite fp32, fp16, dynamic, int8; ONNX fp32, dynamic, int8) at the smallest input
size and alpha the architecture accepts, with few calibration and evaluation images. The weights
are random, then initialised from real images (BatchNorm statistics, classifier head re-centred) so
the answers depend on the input: a constant answer would make the agreement check vacuous. int8 agreement of an
untrained model means nothing: it is tested on a trained model in test_mobilenet_v3_int8.py.
"""

from pathlib import Path

import numpy as np
import pytest

from tests.export.conftest import input_dependent, save_with_sidecar
from tests.numerics import classifier_float32_agreement

LABELS = ["circle", "square", "triangle", "star"]
FILES = {"model_fp32.tflite": ("tflite", "none"), "model_fp16.tflite": ("tflite", "fp16"),
         "model_dynamic.tflite": ("tflite", "dynamic"), "model_int8.tflite": ("tflite", "int8"),
         "model_onnx_fp32.onnx": ("onnx", "none"), "model_onnx_dynamic.onnx": ("onnx", "dynamic"),
         "model_onnx_int8.onnx": ("onnx", "int8")}
EVAL_IMAGES = 16

# The cheapest architecture runs in the default suite; the others are slow (one export each, < 60 s).
ZOO = [
    pytest.param("mobilenet_v1", id="mobilenet_v1"),
    pytest.param("mobilenet_v2", id="mobilenet_v2", marks=pytest.mark.slow),
    pytest.param("mobilenet_v3_small", id="mobilenet_v3_small", marks=pytest.mark.slow),
    pytest.param("mobilenet_v3_large", id="mobilenet_v3_large", marks=pytest.mark.slow),
    pytest.param("xception", id="xception", marks=pytest.mark.slow),
    pytest.param("googlenet", id="googlenet", marks=pytest.mark.slow),
]


def test_the_matrix_covers_every_classification_model_in_the_zoo():
    from edgevision.models.registry import list_specs

    assert sorted(p.values[0] for p in ZOO) == sorted(s.name for s in list_specs() if s.task == "classify")


def _smallest(name):
    from edgevision.models.registry import get_spec

    spec = get_spec(name)
    return spec, spec.min_input_size, min(spec.alphas)


@pytest.fixture(scope="module", params=ZOO)
def zoo_model(request, tmp_path_factory):
    """(name, model.keras with its sidecar, Keras top-1 on the evaluation images): built once per model."""
    import keras

    from edgevision.data import load_images
    from edgevision.export.calibration import evaluation_set
    from edgevision.metadata import ModelInfo, read_sidecar
    from edgevision.models.registry import build_model, inference_model
    from edgevision.runtime.preprocess import normalise

    name = request.param
    spec, size, alpha = _smallest(name)
    keras.utils.set_random_seed(0)
    extra = {"training_heads": True} if name == "googlenet" else {}
    model = inference_model(build_model(name, num_classes=len(LABELS), input_size=size, alpha=alpha, **extra))
    images, _, _ = load_images("synthetic:shapes", "val", image_size=(size, size), seed=0, limit=EVAL_IMAGES)
    pixels = normalise(np.asarray(images), ModelInfo(task="classify", input_size=(size, size), labels=LABELS,
                                                      mean=spec.mean, std=spec.std))
    input_dependent(model, pixels)
    keras_top1 = model.predict(pixels, verbose=0).argmax(axis=1)
    path = save_with_sidecar(model, tmp_path_factory.mktemp(name), LABELS, mean=spec.mean[0], std=spec.std[0])
    info = read_sidecar(path)  # the bound on the images the export's evaluation will use
    evaluated = normalise(evaluation_set(info, path, None, EVAL_IMAGES).images, info)
    return name, path, keras_top1, classifier_float32_agreement(model, evaluated)


def _export(zoo_model, fmt: str):
    from edgevision.export.pipeline import ExportOptions, export_model

    name, path, _, _ = zoo_model
    options = ExportOptions(formats=(fmt,), quantize=("none", "fp16", "dynamic", "int8"), calib_count=8,
                            eval_count=EVAL_IMAGES, min_agreement=0.01)
    return export_model(path, path.parent / fmt, options), path.parent / fmt


# One export per format (each test stays under a minute even for Xception's 21M parameters).
@pytest.fixture(scope="module")
def tflite_export(zoo_model):
    return _export(zoo_model, "tflite")


@pytest.fixture(scope="module")
def onnx_export(zoo_model):
    return _export(zoo_model, "onnx")


def _check_files(name, report, out, fmt):
    """Every mode of `fmt` wrote a file and a sidecar, and the runtime loads and runs each one."""
    from edgevision.runtime import load

    expected = sorted(f for f, (f_fmt, _) in FILES.items() if f_fmt == fmt)
    assert sorted(Path(a["path"]).name for a in report["artifacts"]) == expected
    frame = np.full((48, 64, 3), 200, np.uint8)
    frame[10:40, 20:50] = (30, 60, 220)
    for file_name in expected:
        path = out / file_name
        assert path.is_file() and path.with_suffix(".json").is_file(), f"{name}: {file_name} missing"
        model = load(path, threads=1)
        assert model.description_source == "sidecar"
        assert (model.info.format, model.info.quantization) == FILES[file_name]
        top = model.predict(frame).top_k
        assert top[0].label in LABELS and 0 <= top[0].score <= 1 and np.isfinite(top[0].score)


def _check_float_agreement(zoo_model, report, file_name):
    """Within the float32 bound of the model on the evaluation images (tests/numerics.py): for these deep,
    untrained models with a re-centred head (large logit terms) it is loose, from 0.02 (MobileNetV1) to
    0.35 (Xception); a conversion that computes another function still lands far outside it."""
    name, _, keras_top1, (tolerance, may_flip) = zoo_model
    assert len(set(keras_top1.tolist())) >= 2, f"{name}: the Keras model answers the same class for every image"
    artifact = next(a for a in report["artifacts"] if Path(a["path"]).name == file_name)
    assert artifact["passed"] is True, f"{name}: {file_name} {artifact['failures']}"
    assert artifact["top1_agreement"] >= 1 - may_flip / EVAL_IMAGES
    assert artifact["max_abs_diff"] <= tolerance, (name, tolerance)
    assert report["evaluation"]["images"] == EVAL_IMAGES


def test_every_tflite_mode_loads_in_the_runtime_with_its_sidecar(zoo_model, tflite_export):
    _check_files(zoo_model[0], *tflite_export, "tflite")


def test_tflite_files_use_builtin_ops_only(zoo_model, tflite_export):
    from edgevision.export.tflite import _model_object

    _, out = tflite_export
    for file_name in ("model_fp32.tflite", "model_fp16.tflite", "model_dynamic.tflite", "model_int8.tflite"):
        model = _model_object((out / file_name).read_bytes())
        custom = [c.customCode for c in model.operatorCodes if c.customCode]
        assert not custom, f"{zoo_model[0]}: {file_name} needs custom/Flex ops {custom}"


def test_int8_tflite_takes_and_gives_int8(zoo_model, tflite_export):
    from ai_edge_litert.interpreter import Interpreter

    from edgevision.metadata import read_sidecar

    _, out = tflite_export
    interpreter = Interpreter(model_path=str(out / "model_int8.tflite"))
    (given,), (returned,) = interpreter.get_input_details(), interpreter.get_output_details()
    assert (given["dtype"], returned["dtype"]) == (np.int8, np.int8), zoo_model[0]
    info = read_sidecar(out / "model_int8.tflite")
    assert info.input_quantization["scale"] == pytest.approx(float(given["quantization"][0]))
    assert info.output_quantization["zero_point"] == int(returned["quantization"][1])


def test_float_tflite_gives_the_keras_models_answers(zoo_model, tflite_export):
    _check_float_agreement(zoo_model, tflite_export[0], "model_fp32.tflite")


def test_every_onnx_mode_loads_in_the_runtime_with_its_sidecar(zoo_model, onnx_export):
    import onnx

    _check_files(zoo_model[0], *onnx_export, "onnx")
    ops = {node.op_type for node in onnx.load(str(onnx_export[1] / "model_onnx_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops, zoo_model[0]


def test_float_onnx_gives_the_keras_models_answers(zoo_model, onnx_export):
    _check_float_agreement(zoo_model, onnx_export[0], "model_onnx_fp32.onnx")
