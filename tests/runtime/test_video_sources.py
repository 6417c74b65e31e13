"""Video sources: every frame from files and folders, newest-only with drop counts from live sources,
reconnection with bounded backoff, and one-line errors for sources that are not there."""

import functools
import http.server
import threading
import time

import cv2
import numpy as np
import pytest

from edgevision.errors import UserError
from edgevision.runtime.sinks import BrowserSink
from edgevision.runtime.sources import Backoff, CaptureSource, describe, open_source

from .video_clips import synthetic_frames, write_video


def test_describe_tells_source_kinds_apart(tmp_path):
    assert describe("0") == "camera"
    assert describe(3) == "camera"
    assert describe("rtsp://cam.local/stream") == "url"
    assert describe("HTTP://127.0.0.1:8080/x") == "url"
    assert describe(tmp_path) == "folder"
    assert describe(tmp_path / "clip.mp4") == "file"


def test_video_file_delivers_every_frame_even_to_a_slow_consumer(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", synthetic_frames(24))
    with open_source(clip, queue_size=2) as source:
        assert not source.live and source.fps == pytest.approx(15.0)
        frames = []
        for frame in source:
            time.sleep(0.005)  # slower than decoding: the reader must wait, not drop
            frames.append(frame)
    assert [f.index for f in frames] == list(range(24))
    assert all(f.dropped == 0 and f.capture_ms >= 0 for f in frames)
    assert frames[0].image.shape == (240, 320, 3) and frames[0].image.dtype == np.uint8
    assert source.frames_dropped == 0


def test_folder_delivers_images_in_name_order(tmp_path):
    for i, frame in enumerate(synthetic_frames(5)):
        frame[0, 0] = (i, i, i)
        cv2.imwrite(str(tmp_path / f"img_{i:02d}.png"), frame)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(tmp_path) as source:
        frames = list(source)
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2, 3, 4]


def test_folder_without_images_is_a_user_error(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(UserError, match="holds no images"):
        open_source(tmp_path)


def test_unreadable_image_in_folder_names_the_file(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), synthetic_frames(1)[0])
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    with open_source(tmp_path) as source, pytest.raises(UserError, match=r"b\.jpg is not a readable image"):
        list(source)


class FakeCapture:
    """A cv2.VideoCapture stand-in producing `frames` frames every `period` seconds, then failing."""

    def __init__(self, frames=1000, period=0.0):
        self.left, self.period, self.released = frames, period, False

    def read(self):
        if self.left <= 0:
            return False, None
        time.sleep(self.period)
        self.left -= 1
        return True, np.zeros((8, 8, 3), np.uint8)

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True


def test_live_source_keeps_the_newest_frame_and_counts_drops():
    capture = FakeCapture(frames=200, period=0.001)
    source = CaptureSource("fake-camera", capture, live=True, queue_size=1)
    delivered = []
    with source:
        for frame in source:
            time.sleep(0.02)  # a slow model: the camera runs ahead
            delivered.append(frame)
    assert len(delivered) < 100
    assert source.frames_dropped > 0
    assert sum(f.dropped for f in delivered) == source.frames_dropped
    assert len(delivered) + source.frames_dropped == 200
    assert [f.index for f in delivered] == sorted(f.index for f in delivered)
    assert capture.released


def test_lost_stream_reconnects_and_continues():
    captures = [FakeCapture(frames=3), FakeCapture(frames=4)]
    opened = []

    def reopen():
        opened.append(1)
        if len(opened) == 2:  # the first attempt fails, the second succeeds, later ones fail
            return captures[1]
        raise UserError("still down")

    source = CaptureSource("rtsp://cam", captures[0], live=True, queue_size=16, reopen=reopen,
                           backoff=Backoff(attempts=3, first_s=0.01))
    with source:
        frames = list(source)
    assert len(frames) == 3 + 4
    assert source.reconnects == 1
    assert len(opened) == 2 + 3  # after the second loss, all three attempts failed
    assert "reconnection attempts failed" in source.warning


def test_reconnection_gives_up_after_bounded_attempts():
    def reopen():
        raise UserError("connection refused")

    backoff = Backoff(attempts=4, first_s=0.01, factor=2.0, largest_s=0.04)
    assert list(backoff.delays()) == [0.01, 0.02, 0.04, 0.04]
    source = CaptureSource("http://cam/x", FakeCapture(frames=2), live=True, queue_size=4, reopen=reopen,
                           backoff=backoff)
    start = time.monotonic()
    with source:
        frames = list(source)
    assert len(frames) == 2
    assert time.monotonic() - start < 2.0
    assert "4 reconnection attempts failed (connection refused)" in source.warning


def test_missing_camera_fails_fast():
    start = time.monotonic()
    with pytest.raises(UserError, match="camera 7"):
        open_source("7")
    assert time.monotonic() - start < 5.0


def test_unreachable_url_fails_within_bounded_time():
    start = time.monotonic()
    with pytest.raises(UserError, match=r"http://127\.0\.0\.1:9/x cannot be reached"):
        open_source("http://127.0.0.1:9/x", open_timeout_s=3.0)
    assert time.monotonic() - start < 6.0


def test_password_is_not_echoed_in_messages():
    with pytest.raises(UserError) as err:
        open_source("rtsp://admin:hunter2@127.0.0.1:9/live", open_timeout_s=2.0)
    assert "hunter2" not in str(err.value) and "admin:***@" in str(err.value)


@pytest.mark.parametrize("content, message", [(None, "does not exist"), (b"", "is empty"),
                                              (b"not a video at all" * 50, "not a video OpenCV can decode")])
def test_bad_video_files_are_user_errors(tmp_path, content, message):
    path = tmp_path / "clip.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        open_source(path)


def test_video_file_on_a_web_server_is_read_whole(tmp_path):
    write_video(tmp_path / "clip.mp4", synthetic_frames(12))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with open_source(f"http://127.0.0.1:{server.server_address[1]}/clip.mp4") as source:
            assert not source.live
            frames = list(source)
        assert len(frames) == 12 and source.warning is None
    finally:
        server.shutdown()
        server.server_close()


def _feed(sink, stop):
    frame = synthetic_frames(1)[0]
    while not stop.is_set():
        sink.write(frame)
        time.sleep(0.02)


def test_mjpeg_stream_that_goes_down_and_up_is_reconnected():
    """A real MJPEG camera stream over HTTP (edgevision's own --serve), restarted mid-run."""
    stop = threading.Event()
    camera = BrowserSink("127.0.0.1", 0, stats=dict)
    port = camera.port
    threading.Thread(target=_feed, args=(camera, stop), daemon=True).start()
    source = open_source(f"http://127.0.0.1:{port}/stream.mjpg", open_timeout_s=3,
                         backoff=Backoff(attempts=4, first_s=0.3, largest_s=1.0))
    assert source.live
    frames, restarted = 0, None
    try:
        for _frame in source:
            frames += 1
            if frames == 10:  # the camera goes away, then comes back on the same port
                stop.set()
                camera.close()
                stop = threading.Event()
                camera = BrowserSink("127.0.0.1", port, stats=dict)
                threading.Thread(target=_feed, args=(camera, stop), daemon=True).start()
                restarted = frames
            if restarted and frames >= restarted + 10:
                break
    finally:
        source.close()
        stop.set()
        camera.close()
    assert frames >= 20 and source.reconnects >= 1
