"""Detection layouts, box decoding and NMS against hand-computed cases."""

import numpy as np
import pytest

from edgevision.runtime.backends import TensorSpec
from edgevision.runtime.detection import decode_boxes, from_postprocessed, from_raw, nms, postprocessed_order
from edgevision.runtime.preprocess import Preprocessor

LABELS = ["person", "bicycle", "car"]


def _transform(frame_w=200, frame_h=100, letterbox=False, size=100):
    prep = Preprocessor(TensorSpec("x", (1, size, size, 3), np.dtype(np.float32)), letterbox=letterbox)
    return prep(np.zeros((frame_h, frame_w, 3), np.uint8))[1]


# Two detections: a car at normalised (ymin .1, xmin .2, ymax .5, xmax .6), score .9; a person, .4.
BOXES = np.array([[[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0, 0, 0, 0]]], np.float32)
CLASSES = np.array([[2, 0, 1]], np.float32)
SCORES = np.array([[0.9, 0.4, 0.95]], np.float32)
COUNT = np.array([2], np.float32)  # the third slot is padding past `count`


def test_tf1_order_by_position():
    outputs = [BOXES, CLASSES, SCORES, COUNT]
    order = postprocessed_order([o.shape for o in outputs])
    assert order == {"boxes": 0, "classes": 1, "scores": 2, "count": 3}
    found = from_postprocessed(outputs, order, LABELS, _transform(), threshold=0.3)
    assert [(d.index, d.label) for d in found] == [(2, "car"), (0, "person")]
    assert found[0].score == pytest.approx(0.9)
    assert found[0].box == pytest.approx((40.0, 10.0, 120.0, 50.0))  # pixels of the 200x100 frame
    assert found[1].box == pytest.approx((0.0, 0.0, 200.0, 100.0))


def test_tf2_order_by_position_and_threshold():
    outputs = [SCORES, BOXES, COUNT, CLASSES]
    order = postprocessed_order([o.shape for o in outputs])
    assert order == {"scores": 0, "boxes": 1, "count": 2, "classes": 3}
    found = from_postprocessed(outputs, order, LABELS, _transform(), threshold=0.5)
    assert [d.label for d in found] == ["car"]


def test_signature_names_win_over_position():
    outputs = [BOXES, SCORES, CLASSES, COUNT]  # an exporter that put scores before classes
    names = ["detection_boxes", "detection_scores", "detection_classes", "num_detections"]
    order = postprocessed_order([o.shape for o in outputs], names)
    assert order == {"boxes": 0, "scores": 1, "classes": 2, "count": 3}


def test_not_a_detection_layout():
    with pytest.raises(ValueError):
        postprocessed_order([(1, 1001), (1, 10, 4), (1,), (1, 10, 3)])


def test_letterboxed_boxes_map_back_to_the_frame():
    transform = _transform(frame_w=200, frame_h=100, letterbox=True)  # 200x100 -> 100x50 + 25 px bands
    found = from_postprocessed([BOXES, CLASSES, SCORES, COUNT], {"boxes": 0, "classes": 1, "scores": 2, "count": 3},
                               LABELS, transform, threshold=0.5)
    # model box y: .1*100=10 -> (10-25)/0.5 < 0 -> clipped to 0; .5*100=50 -> 50; x: 20/0.5=40, 60/0.5=120
    assert found[0].box == pytest.approx((40.0, 0.0, 120.0, 50.0))


def test_decode_boxes_centre_size():
    anchors = np.array([[0.5, 0.5, 0.2, 0.4]], np.float32)  # yc, xc, h, w
    assert decode_boxes(np.zeros((1, 4)), anchors) == pytest.approx(np.array([[0.4, 0.3, 0.6, 0.7]]))
    # ty = 10 -> yc moves by one anchor height; th = 5 * ln 2 -> height doubles
    enc = np.array([[10.0, 0.0, 5 * np.log(2), 0.0]], np.float32)
    assert decode_boxes(enc, anchors) == pytest.approx(np.array([[0.5, 0.3, 0.9, 0.7]]), abs=1e-6)


def test_nms_is_greedy_and_class_aware():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 9, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.95])
    classes = np.array([0, 0, 1, 0, 0])
    # box 4 (0.95) suppresses 0 (IoU .9) and 1 (IoU ~.69); box 2 is another class; box 3 overlaps nothing
    assert nms(boxes, scores, classes, iou_threshold=0.5).tolist() == [4, 2, 3]
    assert nms(boxes, scores, classes, iou_threshold=0.95).tolist() == [4, 0, 1, 2, 3]
    assert nms(boxes, scores, classes, max_detections=2).tolist() == [4, 2]
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0)).tolist() == []


def test_raw_ssd_outputs_decode_threshold_and_suppress():
    anchors = np.array([[0.3, 0.3, 0.2, 0.2], [0.31, 0.31, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2]], np.float32)
    encodings = np.zeros((1, 3, 4), np.float32)
    # columns: background, person, bicycle, car
    scores = np.array([[[0.1, 0.8, 0.1, 0.0], [0.1, 0.7, 0.0, 0.2], [0.6, 0.0, 0.0, 0.3]]], np.float32)
    found = from_raw(encodings, scores, anchors, LABELS, _transform(100, 100), threshold=0.5)
    assert [(d.index, d.label) for d in found] == [(0, "person")]  # anchor 1 suppressed, anchor 2 below .5
    assert found[0].box == pytest.approx((20.0, 20.0, 40.0, 40.0))


def test_raw_outputs_told_apart_by_shape_then_name_then_position():
    from edgevision.runtime.detection import raw_order

    assert raw_order([(1, 50, 6), (1, 50, 4)]) == (1, 0)
    assert raw_order([(1, 50, 4), (1, 50, 4)], ["class_scores", "box_encodings"]) == (1, 0)
    assert raw_order([(1, 50, 4), (1, 50, 4)], ["StatefulPartitionedCall:0", "StatefulPartitionedCall:1"]) == (0, 1)
    with pytest.raises(ValueError):
        raw_order([(1, 50, 4), (1, 60, 6)])


@pytest.mark.parametrize("order", [("boxes", "classes", "scores", "count"), ("scores", "boxes", "count", "classes"),
                                   ("boxes", "scores", "classes", "count"), ("classes", "boxes", "count", "scores"),
                                   ("count", "scores", "classes", "boxes")])
def test_post_processed_outputs_are_told_apart_by_their_values_whatever_their_order(tmp_path, order):
    """TF2 exports name the outputs StatefulPartitionedCall:0..3 in an order of their own."""
    pytest.importorskip("onnx")
    from edgevision.runtime import load
    from tests.runtime.tiny_models import constant_outputs_onnx

    values = {"boxes": [[[0.1, 0.2, 0.5, 0.6], [0.5, 0.5, 0.9, 0.9], [0, 0, 0, 0]]],
              "classes": [[17.0, 3.0, 0.0]], "scores": [[0.9, 0.6, 0.0]], "count": [2.0]}
    outputs = {f"StatefulPartitionedCall:{i}": values[role] for i, role in enumerate(order)}
    model = load(constant_outputs_onnx(tmp_path / "tf2_ssd.onnx", outputs, size=16), threads=1)
    found = model.predict(np.zeros((100, 200, 3), np.uint8), threshold=0.5).detections
    assert [(d.index, round(d.score, 6)) for d in found] == [(17, 0.9), (3, 0.6)]
    assert found[0].box == pytest.approx((40, 10, 120, 50), abs=1e-3)  # [0.1, 0.2, 0.5, 0.6] on 200x100


@pytest.mark.slow
@pytest.mark.parametrize("order", [(2, 0, 3, 1), (0, 2, 1, 3), (3, 1, 2, 0)], ids=["TF2", "scores-first", "reversed"])
def test_real_ssd_with_its_outputs_in_another_order_and_tf2_names(reference, tmp_path, order):
    """The pets detector (TF1 order) re-listed as TF2 exports list theirs: the same answer."""
    pytest.importorskip("tensorflow")
    import cv2

    from edgevision.runtime import load
    from tests.runtime.tiny_tflite import with_outputs_reordered

    folder = reference / "real/detectors/pets_ssd_mobilenet_v1_0.75_tf1"
    data = with_outputs_reordered((folder / "detect.tflite").read_bytes(), order,
                                  [f"StatefulPartitionedCall:{i}" for i in range(4)])
    (tmp_path / "tf2.tflite").write_bytes(data)
    frame = cv2.imread(str(reference / "cat.bmp"))
    expected = load(folder / "detect.tflite", threads=1, labels=folder / "pet_label_map.pbtxt").predict(frame)
    found = load(tmp_path / "tf2.tflite", threads=1, labels=folder / "pet_label_map.pbtxt").predict(frame)
    assert found.detections == expected.detections and found.detections[0].label == "Abyssinian"
