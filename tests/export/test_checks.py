"""Failing parity checks (exit 3, files kept, report marked), the quantization debugger, --keep-float,
and atomic writes."""

import json
from pathlib import Path

import pytest

from edgevision.errors import CheckFailed
from tests.export.conftest import save_with_sidecar
from tests.formats_check import assert_valid

LABELS = ["circle", "square", "triangle", "star"]


@pytest.fixture(scope="module")
def fragile_model(tmp_path_factory):
    """Probabilities within 1e-3 of each other: an int8 output tensor cannot tell them apart."""
    import keras

    keras.utils.set_random_seed(0)
    layers = keras.layers
    model = keras.Sequential([keras.Input((16, 16, 3)), layers.Conv2D(8, 3, activation="relu"),
                              layers.GlobalAveragePooling2D(), layers.Dense(4), layers.Rescaling(0.002),
                              layers.Softmax()])
    return save_with_sidecar(model, tmp_path_factory.mktemp("fragile"), LABELS, data="synthetic:shapes:300")


def test_int8_below_threshold_exits_3_keeps_files_and_names_the_worst_layers(cli, fragile_model, tmp_path):
    out = tmp_path / "out"
    result = cli("export", fragile_model, "--out", out, "--quantize", "int8", "--calib-count", "40", "--json")
    assert result.returncode == 3, result.stderr
    assert "check failed: model_int8.tflite (top-1 agreement" in result.stderr
    report = json.loads(result.stdout)
    assert report == assert_valid("export_report", out / "export_report.json")
    (artifact,) = report["artifacts"]
    assert artifact["passed"] is False and (out / "model_int8.tflite").is_file()
    layers = report["quantization_debugger"]["layers"]
    assert layers and layers[0]["rmse_over_scale"] >= layers[-1]["rmse_over_scale"]
    assert {"CONV_2D", "FULLY_CONNECTED"} <= {layer["op"] for layer in layers}
    assert "Layers with the largest int8 error" in (out / "export_report.md").read_text()


def test_keep_float_auto_buys_back_the_agreement(fragile_model, tmp_path):
    from edgevision.export.pipeline import ExportOptions, export_model

    options = ExportOptions(quantize=("int8",), io_dtype="float32", keep_float=("auto",), calib_count=40)
    report = export_model(fragile_model, tmp_path, options)
    assert_valid("export_report", tmp_path / "export_report.json")
    attempts = report["keep_float"]["attempts"]
    assert attempts[-1]["passed"] is True and attempts[-1]["agreement_gain"] > 0.5
    assert all(a["size_bytes"] > 0 and a["latency_ms"] is not None for a in attempts)
    kept = next(a for a in report["artifacts"] if a.get("kept_float"))
    assert Path(kept["path"]).name == "model_int8_keepfloat.tflite" and kept["passed"] is True
    plain = next(a for a in report["artifacts"] if not a.get("kept_float"))
    assert plain["passed"] is False and plain["superseded_by"] == kept["path"]
    assert report["passed"] is True


def test_interrupted_export_leaves_earlier_files_and_no_partial_file(fragile_model, tmp_path, monkeypatch):
    from edgevision.export import pipeline
    from edgevision.export.pipeline import ExportOptions, export_model

    options = ExportOptions(quantize=("none", "fp16"), min_agreement=0.01)
    try:
        export_model(fragile_model, tmp_path, options)
    except CheckFailed:
        pass
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert "model_fp16.tflite" in before

    real_write = pipeline.atomic.write_bytes

    def interrupted(final, data):
        if Path(final).name == "model_fp16.tflite":  # die half-way through writing the second file
            with pipeline.atomic.atomic_path(final) as tmp:
                tmp.write_bytes(data[: len(data) // 2])
                raise KeyboardInterrupt
        real_write(final, data)

    monkeypatch.setattr(pipeline.atomic, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(fragile_model, tmp_path, options)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after["model_fp16.tflite"] == before["model_fp16.tflite"]
    assert set(after) == set(before), "no temporary or partial file may remain"
