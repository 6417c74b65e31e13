"""COCO mAP through pycocotools on hand-made detections whose answer is known."""

import numpy as np
import pytest

from edgevision.data.detection.coco_eval import coco_map

GT = [
    (np.array([[10, 10, 50, 50], [60, 60, 90, 100]], np.float32), np.array([0, 1])),
    (np.array([[0, 0, 30, 20]], np.float32), np.array([2])),
]


def _perfect():
    return [(boxes, np.ones(len(boxes)), classes) for boxes, classes in GT]


def test_perfect_detections_score_one():
    result = coco_map(GT, _perfect())
    assert result["map50"] == pytest.approx(1.0) and result["map50_95"] == pytest.approx(1.0)


def test_nothing_found_scores_zero():
    empty = [(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int)) for _ in GT]
    assert coco_map(GT, empty)["map50"] == 0.0


def test_wrong_class_scores_zero_and_a_shifted_box_counts_only_at_low_iou():
    wrong = [(boxes, np.ones(len(boxes)), (classes + 1) % 3 + 3) for boxes, classes in GT]
    assert coco_map(GT, wrong)["map50"] == 0.0
    # Each box shifted so its IoU with the truth is 0.73 / 1.27 = 0.575: counted at IoU .5 and .55, not above.
    shifted = []
    for boxes, classes in GT:
        width = boxes[:, 2:3] - boxes[:, 0:1]
        shift = np.concatenate([width * 0.27, np.zeros_like(width)] * 2, axis=1)
        shifted.append((boxes + shift, np.ones(len(boxes)), classes))
    result = coco_map(GT, shifted)
    assert result["map50"] == pytest.approx(1.0)
    assert result["map50_95"] == pytest.approx(0.2, abs=0.01)  # 2 of 10 IoU thresholds


def test_a_false_positive_ranked_first_lowers_precision():
    detections = _perfect()
    boxes, scores, classes = detections[1]
    detections[1] = (np.vstack([boxes, [[100, 100, 120, 120]]]), np.array([0.5, 0.9]), np.array([2, 2]))
    result = coco_map(GT, detections)
    assert 0.4 < result["map50"] < 1.0


def test_evaluation_decodes_raw_outputs_as_the_runtime_does():
    """mAP is measured on the runtime's detections: the same boxes (pixels), scores and classes as
    `runtime.load(...).predict` gives for the same raw SSD outputs; class-agnostic suppression (the
    post-processing op's fast mode, export's Keras reference) also drops overlapping boxes of other classes."""
    from edgevision.data.detection.coco_eval import detections_from_raw
    from edgevision.runtime.backends import TensorSpec
    from edgevision.runtime.detection import from_raw
    from edgevision.runtime.preprocess import Preprocessor

    # anchors (ycenter, xcenter, h, w); boxes 0 and 1 overlap (IoU ~.8), box 2 is apart and crosses the bottom edge
    anchors = np.array([[0.3, 0.3, 0.2, 0.2], [0.31, 0.31, 0.2, 0.2], [0.95, 0.5, 0.2, 0.4]], np.float32)
    encodings = np.array([[[0.5, -0.5, 0.2, 0.1], [0.0, 0.0, 0.0, 0.0], [1.0, 2.0, -0.3, 0.4]]], np.float32)
    # columns: background, then classes 0, 1, 2
    scores = np.array([[[0.1, 0.8, 0.1, 0.0], [0.1, 0.0, 0.7, 0.2], [0.2, 0.0, 0.0, 0.6]]], np.float32)
    height, width = 60, 80
    prep = Preprocessor(TensorSpec("x", (1, height, width, 3), np.dtype(np.float32)))
    _, whole_image = prep(np.zeros((height, width, 3), np.uint8))
    runtime = from_raw(encodings, scores, anchors, ["a", "b", "c"], whole_image, threshold=0.05, iou_threshold=0.6)
    boxes, found_scores, classes = detections_from_raw(encodings, scores, anchors, (height, width))
    assert [d.index for d in runtime] == classes.tolist() == [0, 1, 2]  # class-aware: 0 and 1 both stay
    assert np.array_equal(np.array([d.box for d in runtime], np.float32), boxes)
    assert [d.score for d in runtime] == found_scores.tolist()
    assert boxes[2, 3] == height  # clipped to the image
    _, _, agnostic = detections_from_raw(encodings, scores, anchors, (height, width), class_agnostic=True)
    assert agnostic.tolist() == [0, 2]  # anchor 1 (class 1) suppressed by anchor 0 (class 0)
