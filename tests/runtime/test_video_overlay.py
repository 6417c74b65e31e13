"""Overlay: labels and scores for classifiers, boxes in a stable colour per class, a HUD."""

from collections import namedtuple

import numpy as np

from edgevision.runtime.overlay import class_color, draw, hud_lines

Class = namedtuple("Class", "index label score")
Detection = namedtuple("Detection", "index label score box")
Result = namedtuple("Result", "top_k detections timings_ms", defaults=(None, None, {}))


def test_class_colours_are_stable_and_neighbours_differ():
    assert class_color(17) == class_color(17)
    colours = [class_color(i) for i in range(20)]
    assert len(set(colours)) == 20
    for a, b in zip(colours, colours[1:], strict=False):
        assert sum(abs(x - y) for x, y in zip(a, b, strict=True)) > 60


def test_classification_labels_are_drawn_top_left_on_a_copy():
    frame = np.full((360, 640, 3), 128, np.uint8)
    result = Result(top_k=[Class(286, "Egyptian cat", 0.78), Class(282, "tiger cat", 0.1)])
    out = draw(frame, result)
    assert (frame == 128).all()  # the caller's frame is untouched
    changed = (out != 128).any(axis=2)
    assert changed[:60, :200].mean() > 0.3
    assert not changed[200:, 300:].any()


def test_detection_boxes_are_drawn_in_their_class_colour():
    frame = np.zeros((300, 400, 3), np.uint8)
    det = Detection(17, "cat", 0.91, (100.0, 120.0, 300.0, 280.0))
    out = draw(frame, Result(detections=[det]), copy=False)
    assert out is frame
    assert tuple(int(v) for v in out[200, 100]) == class_color(17)  # left edge of the box
    assert tuple(int(v) for v in out[280, 200]) == class_color(17)  # bottom edge
    assert not out[150:250, 150:250].any()  # inside of the box stays clear


def test_boxes_outside_the_frame_are_clipped_not_crashing():
    frame = np.zeros((100, 100, 3), np.uint8)
    draw(frame, Result(detections=[Detection(1, "x", 0.5, (-50, -50, 500, 500))]), copy=False)
    assert frame[99, 50].any() and frame[50, 99].any()


def test_hud_shows_fps_and_each_stage():
    lines = hud_lines({"fps": 29.66, "dropped": 3, "stages_ms": {"capture": 3.14, "inference": 18.2}})
    assert lines == ["FPS 29.7  dropped 3", "cap 3.1  inf 18.2 ms"]
    frame = np.zeros((360, 640, 3), np.uint8)
    out = draw(frame, None, hud={"fps": 30.0, "stages_ms": {"inference": 18.0}})
    assert out[300:, :300].any() and not out[:200].any()  # bottom-left only
