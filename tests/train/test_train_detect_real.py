"""`edgevision train --task detect` on the real kit: the Roboflow drowsiness export, the MobileNetV2
ImageNet file as the backbone; a short run at a small input size must learn the faces."""

import json
import re

import pytest

from edgevision.models.ssdlite import CLASS_PRIOR
from edgevision.train.detect import EVAL_SCORE_THRESHOLD


@pytest.mark.slow
def test_short_real_detection_run_learns_the_faces(cli, reference, tmp_path):
    out = tmp_path / "run"
    result = cli("train", "--task", "detect", "--model", "ssdlite_mobilenet_v2",
                 "--weights", reference / "real/weights/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5",
                 "--data", reference / "real/detection/drowsiness", "--input-size", "96", "--epochs", "2",
                 "--time", "1.5", "--out", out, "--json", timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    assert summary["input_size"] == [96, 96]
    assert (out / "labels.txt").read_text().split() == ["awake", "drowsy"]  # found in the XML files
    sidecar = json.loads((out / "model.json").read_text())
    assert sidecar["extra"]["weights"].endswith("mobilenet_v2_1.0_224_imagenet_no_top.weights.h5")
    # An untrained detector scores every object near CLASS_PRIOR, under the evaluation threshold:
    # no detection at all, mAP 0. A minute and a half on the frozen, then fine-tuned backbone finds the faces.
    assert CLASS_PRIOR < EVAL_SCORE_THRESHOLD
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_test_images"] > 100 and metrics["map50"] >= 0.3, metrics
    totals = [int(t) for t in re.findall(r"^Epoch \d+/(\d+)$", result.stderr, re.MULTILINE)]
    assert totals and max(totals) < 1000
