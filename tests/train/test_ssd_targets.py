"""SSD target assignment and losses: what an anchor learns, checked against the runtime's decoder."""

import numpy as np
import pytest

from edgevision.runtime.detection import decode_boxes

keras = pytest.importorskip("keras")

from edgevision.train.ssd_targets import assign_targets, box_loss, focal_loss  # noqa: E402

# (ycenter, xcenter, h, w), normalised
ANCHORS = np.array([
    [0.25, 0.25, 0.5, 0.5],
    [0.75, 0.75, 0.5, 0.5],
    [0.5, 0.5, 0.2, 0.2],
    [0.5, 0.5, 1.0, 1.0],
], np.float32)


def test_matches_by_iou_forces_each_box_its_best_anchor_and_ignores_padding():
    size = (100, 200)  # height, width
    boxes = np.array([[
        [0, 0, 100, 50],  # exactly anchor 0 (x 0..0.5, y 0..0.5 of 200x100 px)
        [96, 48, 104, 52],  # tiny: IoU < 0.5 with everything, still gets its best anchor (2)
        [0, 0, 0, 0],  # padding
    ]], np.float32)
    labels = np.array([[3, 1, -1]], np.int32)
    box_targets, class_targets = (np.asarray(t) for t in assign_targets(ANCHORS, boxes, labels, size))
    assert class_targets.tolist() == [[4, 0, 2, 0]]
    assert box_targets[0, :, 4].tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(box_targets[0, 0, :4], 0, atol=1e-4)
    decoded = decode_boxes(box_targets[0, [0, 2], :4], ANCHORS[[0, 2]])  # ymin, xmin, ymax, xmax
    np.testing.assert_allclose(decoded * [100, 200, 100, 200], [[0, 0, 50, 100], [48, 96, 52, 104]], atol=1e-2)


def test_an_image_without_boxes_is_all_background():
    boxes = np.zeros((1, 2, 4), np.float32)
    labels = np.full((1, 2), -1, np.int32)
    box_targets, class_targets = assign_targets(ANCHORS, boxes, labels, (64, 64))
    assert np.asarray(class_targets).sum() == 0 and np.asarray(box_targets).sum() == 0


def test_losses_are_small_for_right_answers_and_large_for_wrong_ones():
    classes = np.array([[2, 0, 0, 1]], np.int32)
    right = np.full((1, 4, 3), -8.0, np.float32)
    right[0, np.arange(4), classes[0]] = 8.0
    wrong = -right
    assert float(focal_loss(classes, right)) < 1e-3 < 1.0 < float(focal_loss(classes, wrong))
    targets = np.zeros((1, 4, 5), np.float32)
    targets[0, 0] = [0.5, -0.5, 1.0, 0.0, 1.0]
    assert float(box_loss(targets, targets[..., :4])) == 0.0
    off = targets[..., :4].copy()
    off[0, 1] = 5.0  # a background anchor's box does not count
    assert float(box_loss(targets, off)) == 0.0
    off[0, 0, 0] += 3.0
    assert float(box_loss(targets, off)) == pytest.approx(2.5)
