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
