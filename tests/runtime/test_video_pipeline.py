"""The run loop with a stand-in model: every frame reaches the sink, each stage is measured,
the run stops on --max-frames, on a sink's request and on errors in the render thread."""

import time
from collections import namedtuple

import numpy as np
import pytest

from edgevision.runtime.pipeline import Pipeline
from edgevision.runtime.sinks import VideoFileSink
from edgevision.runtime.sources import CaptureSource, open_source

from .video_clips import read_video, synthetic_frames, write_video

Class = namedtuple("Class", "index label score")
Result = namedtuple("Result", "top_k timings_ms")
Info = namedtuple("Info", "task")


class FakeClassifier:
    """Says "bright" or "dark" from the frame's mean, taking `seconds` per frame."""

    info = Info("classify")
    size_bytes = 1234

    def __init__(self, seconds=0.0):
        self.seconds = seconds
        self.calls = 0

    def predict(self, frame_bgr):
        self.calls += 1
        time.sleep(self.seconds)
        bright = float(frame_bgr.mean()) > 60
        return Result([Class(int(bright), "bright" if bright else "dark", 0.9)],
                      {"preprocess": 0.1, "inference": self.seconds * 1000, "postprocess": 0.01})


class ListSink:
    stop_requested = False

    def __init__(self, stop_after=None, fail_after=None):
        self.images, self.stop_after, self.fail_after, self.closed = [], stop_after, fail_after, None

    def describe(self):
        return "list"

    def write(self, image):
        if self.fail_after is not None and len(self.images) >= self.fail_after:
            raise OSError("disk full")
        self.images.append(image.copy())
        if self.stop_after and len(self.images) >= self.stop_after:
            self.stop_requested = True


def _clip(tmp_path, count=20):
    frames = synthetic_frames(count)
    for frame in frames[count // 2:]:
        frame[:] = frame // 4  # the second half is dark
    return write_video(tmp_path / "clip.mp4", frames)


def test_every_frame_is_processed_annotated_and_saved(tmp_path):
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, fps=15)
    with open_source(_clip(tmp_path)) as source:
        pipeline = Pipeline(FakeClassifier(), source, [sink], model_path=tmp_path / "fake.tflite")
        pipeline.run()
    sink.close()
    summary = pipeline.summary()
    assert read_video(out) == (20, (320, 240))
    assert summary["frames"] == 20 and summary["dropped"] == 0
    assert set(summary["stages"]) == {"capture", "preprocess", "inference", "postprocess", "render"}
    assert all(st["count"] == 20 for st in summary["stages"].values())
    assert summary["label_counts"] == {"bright": 10, "dark": 10}
    assert summary["model_name"] == "fake.tflite" and summary["model_size_bytes"] == 1234
    assert summary["task"] == "classify" and summary["state"] == "finished"
    assert summary["fps"]["overall"] > 0 and summary["rss_mb"] > 0


def test_annotations_reach_the_sink(tmp_path):
    sink = ListSink()
    with open_source(_clip(tmp_path, 4)) as source:
        Pipeline(FakeClassifier(), source, [sink]).run()
    plain = synthetic_frames(1)[0]
    assert len(sink.images) == 4
    assert (sink.images[0][:30, :100] != plain[:30, :100]).any()  # label panel top-left


def test_max_frames_stops_early(tmp_path):
    model = FakeClassifier()
    with open_source(_clip(tmp_path)) as source:
        pipeline = Pipeline(model, source, [ListSink()], max_frames=5)
        pipeline.run()
    assert model.calls == 5 and pipeline.summary()["frames"] == 5


def test_sink_can_ask_to_stop(tmp_path):
    sink = ListSink(stop_after=3)
    with open_source(_clip(tmp_path)) as source:
        Pipeline(FakeClassifier(), source, [sink]).run()
    assert len(sink.images) == 3  # frames already queued are not shown after the request


def test_render_errors_surface_in_the_caller_and_release_the_source(tmp_path):
    source = open_source(_clip(tmp_path))
    with pytest.raises(OSError, match="disk full"):
        Pipeline(FakeClassifier(), source, [ListSink(fail_after=2)]).run()
    assert source._thread.join(2) is None and not source._thread.is_alive()


def test_live_source_drops_are_reported(tmp_path):
    class Camera:
        left = 60

        def read(self):
            if self.left == 0:
                return False, None
            self.left -= 1
            time.sleep(0.002)
            return True, np.full((48, 64, 3), 200, np.uint8)

        def get(self, prop):
            return 30.0

        def release(self):
            pass

    source = CaptureSource("camera 0", Camera(), live=True, queue_size=1)
    pipeline = Pipeline(FakeClassifier(seconds=0.02), source, [ListSink()])
    pipeline.run()
    summary = pipeline.summary()
    assert summary["dropped"] > 0
    assert summary["frames"] + summary["dropped"] == 60
    assert summary["source_live"] is True
