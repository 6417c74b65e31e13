"""tools/android_bundle.py: an exported model, its sidecar and labels into the app's assets."""

import subprocess
import sys
from pathlib import Path

import pytest

from edgevision.metadata import ModelInfo, write_sidecar

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "android_bundle.py"
LABELS = ["circle", "square", "triangle"]


def bundle(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def export(tmp_path):
    """A stand-in export folder: a file with the TFLite identifier, its sidecar, labels.txt."""
    out = tmp_path / "export"
    out.mkdir()
    model = out / "model_int8.tflite"
    model.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(64))
    write_sidecar(model, ModelInfo(task="classify", input_size=(96, 96), labels=LABELS, format="tflite", quantization="int8",
                                   input_quantization={"dtype": "int8", "scale": 0.0078125, "zero_point": 0}))
    (out / "labels.txt").write_text("\n".join(LABELS) + "\n")
    return model


def test_copies_the_three_files_under_the_names_the_app_reads(export, tmp_path):
    assets = tmp_path / "assets"
    result = bundle(export, "--assets", assets)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in assets.iterdir()) == ["labels.txt", "model.json", "model.tflite"]
    assert (assets / "model.tflite").read_bytes() == export.read_bytes()
    assert (assets / "model.json").read_text() == export.with_suffix(".json").read_text()
    assert ModelInfo.from_dict(__import__("json").loads((assets / "model.json").read_text())).labels == LABELS


@pytest.mark.parametrize("break_it, message", [
    (lambda m: m.unlink(), "does not exist"),
    (lambda m: m.write_bytes(b"PK\x03\x04 not a flatbuffer"), "is not a TFLite flatbuffer"),
    (lambda m: m.with_suffix(".json").unlink(), "model_int8.json is missing"),
    (lambda m: m.with_suffix(".json").write_text('{"format_version": 9}'), "unknown format_version 9"),
    (lambda m: (m.parent / "labels.txt").write_text("circle\nsquare\n"), "has 2 labels but model_int8.json describes 3"),
    (lambda m: (m.parent / "labels.txt").write_text("circle\nstar\ntriangle\n"), "line 2 is 'star'"),
    (lambda m: (m.parent / "labels.txt").unlink(), "labels.txt does not exist"),
])
def test_bad_bundles_exit_2_with_one_line_and_write_nothing(export, tmp_path, break_it, message):
    break_it(export)
    assets = tmp_path / "assets"
    result = bundle(export, "--assets", assets)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not assets.exists() or not any(assets.iterdir())


def test_a_leading_background_line_is_accepted(export, tmp_path):
    (export.parent / "labels.txt").write_text("background\n" + "\n".join(LABELS) + "\n")
    assert bundle(export, "--assets", tmp_path / "assets").returncode == 0
