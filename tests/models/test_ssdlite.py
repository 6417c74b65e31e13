"""SSDLite + MobileNetV2: anchors as the TF OD API makes them, outputs that line up with them."""

import math

import numpy as np
import pytest

from edgevision.models import build_model, get_spec
from edgevision.models.macs import count_macs
from edgevision.models.ssdlite import anchor_boxes, feature_map_sizes


def test_anchors_at_320_follow_the_od_api_layout():
    anchors = anchor_boxes((320, 320))
    assert feature_map_sizes((320, 320)) == [(20, 20), (10, 10), (5, 5), (3, 3), (2, 2), (1, 1)]
    assert anchors.shape == (20 * 20 * 3 + (100 + 25 + 9 + 4 + 1) * 6, 4) == (2034, 4)
    # First layer, first cell: scale 0.1 ratio 1, then scale 0.2 at ratios 2 and 1/2.
    s2 = math.sqrt(2)
    assert np.allclose(anchors[:3], [[0.025, 0.025, 0.1, 0.1], [0.025, 0.025, 0.2 / s2, 0.2 * s2],
                                     [0.025, 0.025, 0.2 * s2, 0.2 / s2]])
    assert np.allclose(anchors[3, :2], [0.025, 0.075])  # next column of the 20x20 grid
    # Second layer: scale 0.35 at five ratios plus sqrt(0.35 * 0.5) at ratio 1.
    second = anchors[1200:1206]
    assert np.allclose(second[:, :2], 0.05)
    assert np.allclose(second[0, 2:], 0.35) and np.allclose(second[5, 2:], math.sqrt(0.35 * 0.5))
    assert np.allclose(second[3, 2:], [0.35 / math.sqrt(3), 0.35 * math.sqrt(3)])
    # Last layer: one cell in the middle, scale 0.95 and the interpolated sqrt(0.95 * 1.0).
    assert np.allclose(anchors[-6:, :2], 0.5)
    assert np.isclose(anchors[-6, 2], 0.95) and np.isclose(anchors[-1, 2], math.sqrt(0.95))


def test_anchors_stay_square_in_pixels_on_a_wide_image():
    anchors = anchor_boxes((200, 400))
    ratio_one = anchors[0]
    assert np.isclose(ratio_one[2] * 200, ratio_one[3] * 400)


def test_registered_detector_outputs_one_prediction_per_anchor():
    spec = get_spec("ssdlite_mobilenet_v2")
    assert spec.task == "detect" and spec.default_input_size == 320 and spec.mean == (127.5,) * 3
    model = build_model("ssdlite_mobilenet_v2", num_classes=3, input_size=128, alpha=0.35)
    n = len(anchor_boxes((128, 128)))
    assert model.output_shape == [(None, n, 4), (None, n, 4)]
    assert model.output_names == ["box_encodings", "class_scores"]
    boxes, scores = model(np.zeros((1, 128, 128, 3), "float32"), training=False)
    scores = np.asarray(scores)
    # sigmoid scores start near the 0.01 prior for the objects, near 0.99 for the background
    assert scores[..., 1:].min() > 0 and scores[..., 1:].max() < 0.05
    assert scores[..., 0].min() > 0.95
    model.get_layer("backbone").trainable = False
    assert model.trainable_weights and not {id(w) for w in model.trainable_weights} & {
        id(w) for w in model.get_layer("backbone").weights
    }


def test_detector_weights_file_round_trip(tmp_path):
    kw = dict(num_classes=2, input_size=96, alpha=0.35)
    model = build_model("ssdlite_mobilenet_v2", **kw)
    path = tmp_path / "det.weights.h5"
    model.save_weights(path)
    again = build_model("ssdlite_mobilenet_v2", weights=path, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(again.get_weights(), model.get_weights(), strict=True))


@pytest.mark.slow
def test_size_and_cost_match_the_paper():
    # Paper table 5/6: SSDLite heads 2.1M params, with MobileNetV2 4.3M params and 0.8B MAdds,
    # predicting 80 classes (+ background) at 320 px.
    model = build_model("ssdlite_mobilenet_v2", num_classes=80, input_size=320, alpha=1.0)
    heads = model.count_params() - model.get_layer("backbone").count_params()
    assert abs(model.count_params() - 4.3e6) <= 0.05 * 4.3e6
    assert abs(heads - 2.1e6) <= 0.05 * 2.1e6
    assert abs(count_macs(model) - 0.8e9) <= 0.05 * 0.8e9
