"""Exported detectors carry TFLite Model Metadata, so MediaPipe Tasks' ObjectDetector (the successor of
the TFLite Task Library's) loads them as they are and finds what `edgevision predict` finds.

MediaPipe is installed for these tests only, with `pip install --no-deps --target` into a cache folder
($EDGEVISION_CACHE, default ~/.cache/edgevision): its wheel requires opencv-contrib-python, which would
overwrite the cv2 of opencv-python-headless in the main environment, and needs nothing else that the
main environment lacks. It runs in a process of its own (mediapipe_probe.py). Without PyPI the
MediaPipe tests skip, saying so.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.detector_models import DATA, SIZE

pytestmark = pytest.mark.slow

MEDIAPIPE = "mediapipe==1.2.3"
LABELS = ["circle", "square", "triangle", "star"]
PROBE = Path(__file__).with_name("mediapipe_probe.py")
THRESHOLD = 0.4  # the untrained test detector scores 0.3-0.6: enough boxes to compare


@pytest.fixture(scope="session")
def mediapipe_path():
    """A folder holding the mediapipe package (installed there once, then reused)."""
    cache = Path(os.environ.get("EDGEVISION_CACHE") or Path.home() / ".cache" / "edgevision")
    target = cache / MEDIAPIPE.replace("==", "-")
    if not (target / "mediapipe" / "__init__.py").is_file():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--target", str(partial), MEDIAPIPE], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"could not install {MEDIAPIPE} into {target} (offline? PyPI unreachable?): {reason}")
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    return target


@pytest.fixture(scope="module")
def uint8_detector(exported_detector, tmp_path_factory):
    """The test detector exported int8 with a uint8 input: the input type MediaPipe takes."""
    from edgevision.export.pipeline import ExportOptions, export_model

    _, _, model_path = exported_detector
    out = tmp_path_factory.mktemp("detector_uint8")
    export_model(model_path, out, ExportOptions(formats=("tflite",), quantize=("int8",), io_dtype="uint8",
                                                calib_count=32, eval_count=20, max_map_drop=1.0))
    return out / "model_int8.tflite"


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Three synthetic:shapes-det validation pictures at the model's input size, as PNG files."""
    from edgevision.data.detection import load_detection

    folder = tmp_path_factory.mktemp("task_pictures")
    for i, image in enumerate(load_detection(DATA, "val", SIZE, 0, 3).images):
        cv2.imwrite(str(folder / f"shapes_{i}.png"), image[..., ::-1])
    return sorted(folder.glob("*.png"))


def _mediapipe(mediapipe_path, model, pictures) -> dict:
    env = {**os.environ, "PYTHONPATH": str(mediapipe_path), "GLOG_minloglevel": "2"}
    result = subprocess.run([sys.executable, str(PROBE), str(model), str(THRESHOLD), *map(str, pictures)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _predict(cli, model, pictures, *flags) -> list:
    result = cli("predict", model, *pictures, "--json", "--threshold", THRESHOLD, *flags)
    assert result.returncode == 0, result.stderr
    return [r["detections"] for r in json.loads(result.stdout)["results"]]


def _score_tolerance(model, exported_detector, pictures) -> float:
    """How far MediaPipe's TFLite and LiteRT may put one score (tests/numerics.py): float32 rounding for
    the float file; for the quantized one, one step of the coarsest quantized tensor (the class logits'
    step or more) through the sigmoid, plus the float post-processing's rounding."""
    import keras

    from edgevision.metadata import read_sidecar
    from edgevision.runtime.backends import litert_interpreter_class
    from tests.export.test_detector_export import float32_tolerances
    from tests.numerics import INT8_STEPS_APART, SIGMOID_MAX_SLOPE

    _, _, model_path = exported_detector
    images = np.stack([cv2.imread(str(p))[..., ::-1] for p in pictures])
    float_tol = float32_tolerances(keras.saving.load_model(model_path, compile=False), images,
                                   read_sidecar(model_path), SIZE)[0]
    if model.name == "model_fp32.tflite":
        return float_tol
    interpreter = litert_interpreter_class()[0](model_path=str(model))
    scales = [d["quantization"][0] for d in interpreter.get_tensor_details() if d["dtype"] in (np.int8, np.uint8)]
    return SIGMOID_MAX_SLOPE * INT8_STEPS_APART * max(scales) + float_tol


def _assert_same(ours, theirs, score_tol):
    """Each detection one side reports clearly above the threshold, the other reports too: same label,
    score within score_tol, box corners within 2 pixels (MediaPipe floors its pixel box's origin and size).
    On an axis where a box leaves the picture, MediaPipe clips the origin but keeps the size: that axis is
    not compared."""
    compared = 0
    for mine, other in ((ours, theirs), (theirs, ours)):
        for found, counterpart in zip(mine, other, strict=True):
            for d in found:
                if d["score"] < THRESHOLD + score_tol:
                    continue  # at the threshold, one side may drop it
                axes = [a for a in (0, 1) if 0 < min(d["box"][a], d["box"][a + 2]) and
                        max(d["box"][a], d["box"][a + 2]) < SIZE]
                match = [o for o in counterpart if o["label"] == d["label"] and abs(o["score"] - d["score"]) <= score_tol
                         and all(abs(o["box"][i] - d["box"][i]) <= 2 for a in axes for i in (a, a + 2))]
                assert match, (d, counterpart)
                compared += 1
    assert compared >= 10  # there was something to compare


def test_mediapipe_object_detector_finds_what_predict_finds(exported_detector, uint8_detector, pictures,
                                                            mediapipe_path, cli):
    _, out, _ = exported_detector
    # The uint8 file: MediaPipe feeds the raw pixels, and so does predict from the sidecar's 127.5/127.5
    # (scale 1/127.5, zero point 127: pixel - 0.5 rounds half up to the pixel).
    for model in (out / "model_fp32.tflite", uint8_detector):
        doc = _mediapipe(mediapipe_path, model, pictures)
        assert doc["error"] is None, f"MediaPipe refused {model.name}: {doc['error']}"
        assert all(d["label"] in LABELS for found in doc["results"] for d in found)
        _assert_same(_predict(cli, model, pictures), doc["results"], _score_tolerance(model, exported_detector, pictures))


def test_metadata_content_read_by_mediapipe(exported_detector, uint8_detector, mediapipe_path):
    """What MediaPipe's schema readers find: float input normalisation from the sidecar, the four outputs
    named in the file's order, boxes as [ymin, xmin, ymax, xmax] ratios, labels.txt on the categories."""
    _, out, _ = exported_detector
    roles = {"location": "boxes", "category": "classes", "score": "scores", "number of detections": "count"}
    for model in (out / "model_fp32.tflite", out / "model_int8.tflite", uint8_detector):
        meta = _mediapipe(mediapipe_path, model, [])["metadata"]
        assert meta["identifier_ok"] and meta["min_parser_version"] == "1.2.0"
        sidecar = json.loads(model.with_suffix(".json").read_text())
        if model.name == "model_fp32.tflite":
            assert meta["mean"] == sidecar["mean"] == [127.5] * 3 and meta["std"] == sidecar["std"]
        else:  # a quantized input takes the pixels as they are
            assert meta["mean"] is None and meta["std"] is None
        names = [o["name"] for o in meta["outputs"]]
        assert sorted(names) == sorted(roles)
        # the order the runtime reads the outputs in (scores, boxes, count, classes for TF2 conversions)
        from edgevision.runtime import load

        assert {roles[n]: i for i, n in enumerate(names)} == load(model).order
        by_name = {o["name"]: o for o in meta["outputs"]}
        assert by_name["location"]["box_index"] == [1, 0, 3, 2]
        assert by_name["category"]["files"] == [["labels.txt", 3]]  # TENSOR_VALUE_LABELS


def test_mediapipe_refuses_int8_input_for_its_type(exported_detector, mediapipe_path):
    """The default int8 export (int8 input) carries the metadata, but MediaPipe takes only uint8 or float32
    inputs: docs/detection.md says to export with --io-dtype uint8 for it."""
    _, out, _ = exported_detector
    doc = _mediapipe(mediapipe_path, out / "model_int8.tflite", [])
    assert doc["error"] and "uint8/float32" in doc["error"] and "INT8" in doc["error"]


def test_labels_packed_and_description_embedded(exported_detector, pictures, cli, tmp_path):
    """labels.txt rides along in the file (the zip the Task consumers read) and the file alone, without
    its sidecar, still runs through `predict` with the same answers (the embedded description)."""
    _, out, _ = exported_detector
    for name in ("model_fp32.tflite", "model_int8.tflite"):
        data = (out / name).read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            assert packed.namelist() == ["labels.txt"]
            assert packed.read("labels.txt").decode().split("\n") == LABELS
    alone = tmp_path / "model_fp32.tflite"
    shutil.copy(out / "model_fp32.tflite", alone)
    assert _predict(cli, alone, pictures) == _predict(cli, out / "model_fp32.tflite", pictures)
