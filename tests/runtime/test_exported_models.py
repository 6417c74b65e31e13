"""Our own exports (sidecar + embedded description): same answers in TFLite and ONNX, int8 fed exactly."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgevision.runtime import load

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    keras = pytest.importorskip("keras")
    pytest.importorskip("tf2onnx")
    from edgevision.export.pipeline import ExportOptions, export_model
    from tests.export.conftest import save_with_sidecar, small_cnn

    keras.utils.set_random_seed(1)
    model = small_cnn(3, size=32, width=8)  # untrained: the formats must still agree with each other
    source = save_with_sidecar(model, tmp_path_factory.mktemp("src"), ["circle", "square", "triangle"])
    out = tmp_path_factory.mktemp("exported")
    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"), calib_count=20, eval_count=20,
                            min_agreement=0.01)
    report = export_model(source, out, options)
    return {"keras": source, **{(a["format"], a["quantization"]): a["path"] for a in report["artifacts"]}}


def _frames(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8) for i in range(n)]


def test_float_tflite_and_onnx_give_the_same_answers(exported):
    import cv2
    import keras

    from tests.numerics import SOFTMAX_MAX_SLOPE, float32_difference

    tflite, onnx = load(exported[("tflite", "none")], threads=1), load(exported[("onnx", "none")], threads=1)
    assert tflite.description_source == onnx.description_source == "sidecar"
    h, w = tflite.input_size
    mean, std = np.array(tflite.info.mean), np.array(tflite.info.std)
    seen = np.stack([(cv2.resize(f, (w, h))[..., ::-1] - mean) / std for f in _frames()]).astype(np.float32)
    source = keras.saving.load_model(exported["keras"], compile=False)
    tolerance = SOFTMAX_MAX_SLOPE * float32_difference(source, source.layers[-1].name, seen)  # tests/numerics.py
    assert tolerance < 0.01
    for frame in _frames():
        a, b = tflite.predict(frame, top_k=3), onnx.predict(frame, top_k=3)
        scores_a, scores_b = ({c.label: c.score for c in r.top_k} for r in (a, b))
        # labels closer than the tolerance may rank either way: compare by label what both list
        assert abs(a.top_k[0].score - b.top_k[0].score) <= tolerance
        for label in scores_a.keys() & scores_b.keys():
            assert abs(scores_a[label] - scores_b[label]) <= tolerance, label
        if a.top_k[0].score - a.top_k[1].score > 2 * tolerance:
            assert a.top_k[0].label == b.top_k[0].label


def test_int8_input_gets_exactly_the_quantized_pixels(exported):
    import cv2

    from edgevision.runtime.backends import litert_interpreter_class

    path = exported[("tflite", "int8")]
    model = load(path, threads=1)
    assert model.input_spec.dtype == np.int8 and model.input_spec.scale
    interpreter = litert_interpreter_class()[0](model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    detail, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = detail["quantization"]
    out_scale, out_zero = out["quantization"]
    h, w = model.input_size
    mean, std = np.array(model.info.mean), np.array(model.info.std)
    for frame in _frames(3):
        rgb = cv2.cvtColor(cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        q = np.clip(np.floor((rgb - mean) / std / scale + zero_point + 0.5 + 1e-3), -128, 127).astype(np.int8)
        interpreter.set_tensor(detail["index"], q[None])
        interpreter.invoke()
        expected = (interpreter.get_tensor(out["index"])[0].astype(np.float32) - out_zero) * out_scale
        got = model.predict(frame, top_k=3).top_k
        assert [c.score for c in got] == pytest.approx(sorted(expected, reverse=True)[:3], abs=1e-6)


def test_embedded_description_is_enough_without_the_sidecar(exported, tmp_path):
    for key in (("tflite", "int8"), ("onnx", "none")):
        copy = tmp_path / f"alone_{key[0]}_{key[1]}{Path(exported[key]).suffix}"
        shutil.copy(exported[key], copy)
        model = load(copy, threads=1)
        assert model.description_source == "embedded"
        assert model.labels == ["circle", "square", "triangle"]
