"""Sinks: the video file appears whole or not at all, --show without a display says so,
and the browser view serves a page, statistics and a decodable MJPEG stream."""

import json
import re
import socket
import urllib.request

import cv2
import numpy as np
import pytest

from edgevision.errors import UserError
from edgevision.runtime.sinks import BrowserSink, VideoFileSink, WindowSink, parse_host_port

from .video_clips import read_video, synthetic_frames


def test_video_file_appears_only_when_finished(tmp_path):
    out = tmp_path / "videos" / "out.mp4"
    sink = VideoFileSink(out, fps=12)
    for frame in synthetic_frames(10):
        sink.write(frame)
    assert not out.exists()  # still being written under a temporary name
    sink.close()
    assert read_video(out) == (10, (320, 240))
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]


def test_failed_run_leaves_no_partial_video(tmp_path):
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out)
    sink.write(synthetic_frames(1)[0])
    sink.close(ok=False)
    assert list(tmp_path.iterdir()) == []


def test_frames_of_another_size_are_resized_not_lost(tmp_path):
    out = tmp_path / "out.avi"
    sink = VideoFileSink(out)
    sink.write(synthetic_frames(1, size=(320, 240))[0])
    sink.write(synthetic_frames(1, size=(200, 100))[0])
    sink.close()
    assert read_video(out) == (2, (320, 240))


def test_odd_frame_sizes_are_padded_not_cropped(tmp_path):
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out)
    frame = np.zeros((241, 321, 3), np.uint8)
    frame[-1, :] = frame[:, -1] = 255  # a white last row and column must survive
    sink.write(frame)
    sink.close()
    capture = cv2.VideoCapture(str(out))
    ok, written = capture.read()
    capture.release()
    assert ok and written.shape == (242, 322, 3)
    assert written[240, 10:300].mean() > 200 and written[10:230, 320].mean() > 200


def test_unknown_video_suffix_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="unknown video type .gif"):
        VideoFileSink(tmp_path / "out.gif")


def test_show_without_display_is_a_user_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    with pytest.raises(UserError, match="--show needs a display"):
        WindowSink()


@pytest.mark.skipif(not re.search(r"GUI:\s+NONE", cv2.getBuildInformation()),
                    reason="this OpenCV can open windows; the headless-build message is not reachable")
def test_show_with_headless_opencv_is_a_user_error(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    with pytest.raises(UserError, match="cannot open windows"):
        WindowSink()


@pytest.mark.parametrize("value, expected", [
    ("127.0.0.1:8080", ("127.0.0.1", 8080)), (":9000", ("127.0.0.1", 9000)), ("9000", ("127.0.0.1", 9000)),
    ("0.0.0.0:80", ("0.0.0.0", 80)), ("[::1]:8081", ("::1", 8081)), ("localhost", ("localhost", 8080)),
])
def test_serve_address_parsing_defaults_to_loopback(value, expected):
    assert parse_host_port(value) == expected


def test_bad_serve_port_is_a_user_error():
    with pytest.raises(UserError, match="port must be a number"):
        parse_host_port("127.0.0.1:http")


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.headers, response.read()


def test_browser_view_serves_page_stats_and_mjpeg():
    sink = BrowserSink("127.0.0.1", 0, stats=lambda: {"fps_rolling": 12.5, "model_name": "m.tflite"})
    try:
        assert sink.url.startswith("http://127.0.0.1:") and "network" not in sink.describe()
        headers, page = _get(sink.url)
        assert headers["Content-Type"].startswith("text/html")
        assert b'id="stream"' in page and b"/stats.json" in page and b"/stream.mjpg" in page
        assert json.loads(_get(sink.url + "stats.json")[1]) == {"fps_rolling": 12.5, "model_name": "m.tflite"}

        frames = synthetic_frames(3)
        sink.write(frames[0])
        stream = urllib.request.urlopen(sink.url + "stream.mjpg", timeout=5)
        assert stream.headers["Content-Type"].startswith("multipart/x-mixed-replace; boundary=")
        parts = []
        for frame in frames[1:]:
            sink.write(frame)
            parts.append(_read_part(stream))
        stream.close()
        decoded = cv2.imdecode(np.frombuffer(parts[-1], np.uint8), cv2.IMREAD_COLOR)
        assert decoded.shape == (240, 320, 3)
        assert np.abs(decoded.astype(int) - frames[2].astype(int)).mean() < 8  # JPEG of the newest frame
    finally:
        sink.close()


def test_stream_finishes_with_the_last_frame_after_the_end():
    sink = BrowserSink("127.0.0.1", 0, stats=dict)
    try:
        last = synthetic_frames(2)[1]
        sink.write(last)
        sink.end_of_stream()
        with urllib.request.urlopen(sink.url + "stream.mjpg", timeout=5) as stream:
            body = stream.read()  # returns: the response is complete, not an endless stream
        assert body.endswith(b"--edgevisionframe--\r\n") and body.count(b"Content-Type: image/jpeg") == 1
        assert _get(sink.url + "frame.jpg")[0]["Content-Type"] == "image/jpeg"
    finally:
        sink.close()


def _read_part(stream):
    """One JPEG part of a multipart/x-mixed-replace response."""
    while (line := stream.readline()) != b"":
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
            stream.readline()  # blank line after the part headers
            return stream.read(length)
    raise AssertionError("stream ended before a JPEG part")


def test_busy_port_is_a_user_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match=f"127.0.0.1:{port}: cannot listen there"):
            BrowserSink("127.0.0.1", port, stats=dict)


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 on this machine")
def test_ipv6_loopback_can_serve():
    try:
        sink = BrowserSink("::1", 0, stats=lambda: {"ok": True})
    except UserError as exc:
        pytest.skip(f"IPv6 loopback not configured: {exc}")
    try:
        assert sink.url.startswith("http://[::1]:") and "network" not in sink.describe()
        assert json.loads(_get(sink.url + "stats.json")[1]) == {"ok": True}
    finally:
        sink.close()
