"""Models from elsewhere, as users find them: open batch dimensions, score vectors of any rank,
logits, normalisation presets, raw-pixel inputs, RGB callers (tiny models built here)."""

import json

import numpy as np
import pytest

from edgevision.runtime import load
from tests.runtime.tiny_models import echo_onnx, echoed

pytest.importorskip("onnx")
BGR = (10, 128, 250)  # a solid colour: mean R 250, G 128, B 10
INCEPTION = [(250 - 127.5) / 127.5, (128 - 127.5) / 127.5, (10 - 127.5) / 127.5]
# float32 softmax then log: about 1e-6 relative on scores near 0.1-0.5
TOL = 1e-5


def _fed(model, frame=None, **kwargs):
    result = model.predict(np.full((20, 30, 3), BGR, np.uint8) if frame is None else frame, top_k=4, **kwargs)
    return result, echoed({c.index: c.score for c in result.top_k}, getattr(model, "_gain", 1.0))


@pytest.mark.parametrize("output_shape,batch", [(None, "N"), (None, -1), ([4], 1), ([1, 4], "N"),
                                                ([-1, 1, 1, 4], "N"), ([1, 1, 1, 4], 1)],
                         ids=["[N,4] named", "[?,4] unknown", "[4]", "[1,4]", "[N,1,1,4]", "[1,1,1,4]"])
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_score_vectors_of_any_rank_and_open_batch_dimensions(tmp_path, output_shape, batch, layout):
    model = load(echo_onnx(tmp_path / "m.onnx", output_shape=output_shape, batch=batch, layout=layout), threads=1)
    assert model.task == "classify" and len(model.labels) == 0
    result, fed = _fed(model)
    assert result.scores == "softmax of logits"  # negative values: not probabilities
    assert sum(c.score for c in result.top_k) == pytest.approx(1, abs=1e-5)
    assert fed == pytest.approx(INCEPTION, abs=TOL)  # default for float inputs: [-1, 1]


def test_probabilities_are_reported_as_they_are(tmp_path):
    model = load(echo_onnx(tmp_path / "p.onnx", softmax=True), threads=1)
    result, fed = _fed(model)
    assert result.scores == "probabilities"
    assert fed == pytest.approx(INCEPTION, abs=TOL)


def test_predict_json_says_the_scores_are_a_softmax_of_logits(cli, tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "solid.png"), np.full((20, 30, 3), BGR, np.uint8))
    result = cli("predict", echo_onnx(tmp_path / "m.onnx"), tmp_path / "solid.png", "--json", "--top-k", "4")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["results"][0]
    assert entry["scores"] == "softmax of logits"
    assert all(0 <= c["score"] <= 1 for c in entry["top_k"])
    text = cli("predict", tmp_path / "m.onnx", tmp_path / "solid.png")
    assert text.returncode == 0 and "softmax of its logits" in text.stderr
