"""The run loop with a stand-in model: every frame reaches the sink, each stage is measured,
the run stops on --max-frames, on a sink's request and on errors in the render thread."""

import time
from collections import namedtuple

import numpy as np
import pytest

from edgevision.runtime.run_loop import Pipeline
from edgevision.runtime.sinks import VideoFileSink
from edgevision.runtime.sources import CaptureSource, open_source
from tests.formats_check import assert_valid

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

    def prepare(self, frame_bgr):
        return float(frame_bgr.mean())

    def predict_prepared(self, mean):
        self.calls += 1
        time.sleep(self.seconds)
        bright = mean > 60
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
        before = assert_valid("run_metrics", pipeline.summary())  # what /stats.json serves before the first frame
        pipeline.run()
    sink.close()
    assert before["state"] == "starting" and before["stages"] == {} and before["frames"] == 0
    summary = assert_valid("run_metrics", pipeline.summary())
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
        pipeline = Pipeline(FakeClassifier(), source, [sink])
        pipeline.run()
    assert assert_valid("run_metrics", pipeline.summary())["model"] is None  # the Python API, given no path
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


class SlowSink(ListSink):
    """Writes slowly, so the queues fill and frames are pre-processed well ahead of inference."""

    def write(self, image):
        time.sleep(0.005)
        super().write(image)


class Recorder:
    """A real model that also notes, in order, the top-1 label of each frame it answers."""

    def __init__(self, model):
        self.model, self.info, self.size_bytes, self.labels = model, model.info, model.size_bytes, []

    def prepare(self, image):
        return self.model.prepare(image)

    def predict_prepared(self, prepared):
        result = self.model.predict_prepared(prepared)
        self.labels.append(result.top_k[0].label)
        return result


def test_a_folder_is_delivered_whole_in_order_each_frame_with_its_own_answer(tmp_path):
    import cv2

    from edgevision.runtime import load

    from .tiny_models import colour_classifier_onnx, solid_bgr

    bgr = {"red": (0, 0, 255), "green": (0, 255, 0), "blue": (255, 0, 0)}
    names = [("red", "green", "blue", "blue", "red", "green")[i % 6 if i % 7 else 2] for i in range(40)]
    frames = tmp_path / "frames"
    frames.mkdir()
    for i, name in enumerate(names):
        cv2.imwrite(str(frames / f"{i:03d}.png"), solid_bgr(bgr[name], 90, 120))
    model = Recorder(load(colour_classifier_onnx(tmp_path / "colours.onnx"), labels=list(bgr)))
    sink = SlowSink()
    pipeline = Pipeline(model, open_source(frames), [sink])
    pipeline.run()
    assert model.labels == names  # every frame, in order, answered from its own pixels
    corners = [tuple(int(v) for v in image[-1, -1]) for image in sink.images]  # no overlay there
    assert corners == [bgr[name] for name in names]
    summary = pipeline.summary()
    assert summary["frames"] == 40 and summary["dropped"] == 0
    assert all(st["count"] == 40 for st in summary["stages"].values())


def test_a_live_source_delivers_only_ever_newer_frames_and_the_last_one(tmp_path):
    class Camera:
        """Frame n has every pixel n (mod 256); 80 frames, 2 ms apart."""

        def __init__(self):
            self.sent = 0

        def read(self):
            if self.sent == 80:
                return False, None
            time.sleep(0.002)
            self.sent += 1
            return True, np.full((48, 64, 3), self.sent - 1, np.uint8)

        def get(self, prop):
            return 30.0

        def release(self):
            pass

    sink = ListSink()
    pipeline = Pipeline(FakeClassifier(seconds=0.02), CaptureSource("camera 0", Camera(), live=True, queue_size=1),
                        [sink])
    pipeline.run()
    shown = [int(image[-1, -1, 0]) for image in sink.images]
    assert shown == sorted(set(shown)) and len(shown) < 80  # older frames were dropped, never shown late
    assert shown[-1] == 79  # the newest frame is the one kept
    assert pipeline.summary()["frames"] + pipeline.summary()["dropped"] == 80


def test_a_file_is_read_ahead_within_a_memory_bound(tmp_path):
    from edgevision.runtime.sources import FILE_QUEUE_BYTES

    clip = write_video(tmp_path / "big.mp4", synthetic_frames(60, size=(1280, 720)))
    with open_source(clip) as source:  # nobody consumes: the reader fills its queue and waits
        deadline = time.time() + 20
        while source.frames_read < source.queue_size and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert source.frames_read <= source.queue_size + 1
        assert 8 <= source.queue_size and source.queue_size * 1280 * 720 * 3 <= FILE_QUEUE_BYTES
        assert sum(1 for _ in source) == 60
