"""Shared test helpers: run the CLI as a user would, find the third-party reference files."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "reference"


def run_cli(*args, timeout=600, cwd=None):
    """Run `edgevision ARGS...` in a fresh process from this tree; returns CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "edgevision", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
    )


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def reference():
    """Folder of real third-party models and photos (../shared/reference); skip when absent."""
    if not (REFERENCE / "README.md").is_file():
        pytest.skip(f"reference files not found at {REFERENCE} (they live beside the repo, not in it)")
    return REFERENCE


@pytest.fixture(scope="session")
def exported_detector(tmp_path_factory):
    """A small SSDLite detector (tests/detector_models.py) exported to TFLite and ONNX, fp32 and int8:
    (report, export folder, model.keras). About 40-60 s on 2 shared cores; used by slow tests only."""
    from edgevision.export.pipeline import ExportOptions, export_model
    from tests.detector_models import build_detector

    model_path = build_detector(tmp_path_factory.mktemp("detector"))
    out = tmp_path_factory.mktemp("detector_export")
    options = ExportOptions(formats=("tflite", "onnx"), quantize=("none", "int8"), calib_count=32, eval_count=20,
                            max_map_drop=1.0)  # an untrained detector: the plumbing is checked, not int8 quality
    return export_model(model_path, out, options), out, model_path
