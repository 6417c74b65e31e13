"""`edgevision run` as a user runs it: a real model over a real-looking clip and a folder,
and one-line exit-2 errors (never a hang) for sources and sinks that cannot work."""

import json
import subprocess
import sys
import threading
import time

import cv2
import pytest

from edgevision.runtime.sinks import BrowserSink
from tests.conftest import ROOT
from tests.formats_check import assert_valid

from .video_clips import fit_frame, pan_frames, read_video, synthetic_frames, write_video

MODEL = "mobilenet_v2_1.0_224_quant.tflite"
CAT_FRAMES, PARROT_FRAMES = 16, 8


@pytest.fixture
def clip(tmp_path, reference):
    """640x360 at 15 FPS: a slow pan over a cat, then the parrot photo held still."""
    frames = pan_frames(reference / "cat_720p.jpg", CAT_FRAMES)
    frames += [fit_frame(reference / "parrot.jpg")] * PARROT_FRAMES
    return write_video(tmp_path / "clip.mp4", frames, fps=15)


def test_run_annotates_a_video_file_and_reports_every_stage(cli, clip, reference, tmp_path):
    out, metrics = tmp_path / "out" / "annotated.mp4", tmp_path / "metrics.json"
    proc = cli("run", "--model", reference / MODEL, "--labels", reference / "imagenet_labels.txt",
               "--source", clip, "--save", out, "--metrics", metrics, "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert read_video(out) == (CAT_FRAMES + PARROT_FRAMES, (640, 360))
    assert summary["frames"] == CAT_FRAMES + PARROT_FRAMES and summary["dropped"] == 0
    for stage in ("capture", "preprocess", "inference", "postprocess", "render"):
        assert summary["stages"][stage]["count"] == CAT_FRAMES + PARROT_FRAMES
        assert 0 <= summary["stages"][stage]["p50"] <= summary["stages"][stage]["p99"]
    assert summary["label_counts"] == {"Egyptian cat": CAT_FRAMES, "macaw": PARROT_FRAMES}
    assert summary["model_size_bytes"] == (reference / MODEL).stat().st_size
    assert summary["fps"]["overall"] > 0 and summary["peak_rss_mb"] > 0
    assert assert_valid("run_metrics", metrics) == summary


def test_annotated_frames_carry_labels_and_hud(cli, clip, reference, tmp_path):
    out = tmp_path / "out.mp4"
    proc = cli("run", "--model", reference / MODEL, "--labels", reference / "imagenet_labels.txt",
               "--source", clip, "--save", out, "--max-frames", 3, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 frames (0 dropped)" in proc.stdout and "Egyptian cat x3" in proc.stdout
    original = pan_frames(reference / "cat_720p.jpg", CAT_FRAMES)[0]
    capture = cv2.VideoCapture(str(out))
    ok, annotated = capture.read()
    capture.release()
    assert ok
    diff = cv2.absdiff(annotated, original).max(axis=2) > 60
    assert diff[:40, :200].mean() > 0.05   # the label panel, top-left
    assert diff[-50:, :200].mean() > 0.05  # the HUD, bottom-left
    assert diff[100:260, 250:600].mean() < 0.01  # the picture itself is untouched


def test_folder_source(cli, reference, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("cat.bmp", "parrot.jpg", "sunflower.bmp"):
        (folder / name).write_bytes((reference / name).read_bytes())
    proc = cli("run", "--model", reference / MODEL, "--labels", reference / "imagenet_labels.txt",
               "--source", folder, "--save", tmp_path / "photos.mp4", "--json", timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = assert_valid("run_metrics", json.loads(proc.stdout))
    assert summary["frames"] == 3
    assert summary["label_counts"]["Egyptian cat"] == 1 and summary["label_counts"]["macaw"] == 1
    height = cv2.imread(str(reference / "cat.bmp")).shape[0]  # the first image sets the video size
    assert read_video(tmp_path / "photos.mp4") == (3, (512, height + height % 2))


@pytest.mark.parametrize("source, message", [
    ("7", "camera 7"),
    ("http://127.0.0.1:9/x", "http://127.0.0.1:9/x cannot be reached"),
    ("no/such/clip.mp4", "no/such/clip.mp4 does not exist"),
])
def test_bad_sources_exit_2_with_one_line(cli, tmp_path, source, message):
    proc = cli("run", "--model", tmp_path / "model.tflite", "--source", source, "--json", timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr


def test_show_without_display_exits_2(cli, tmp_path, monkeypatch):
    clip = write_video(tmp_path / "clip.mp4", synthetic_frames(3))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    proc = cli("run", "--model", tmp_path / "model.tflite", "--source", clip, "--show", timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "--show needs a display" in proc.stderr


def test_nothing_is_left_behind_when_the_model_is_bad(cli, tmp_path):
    clip = write_video(tmp_path / "clip.mp4", synthetic_frames(3))
    bad = tmp_path / "model.tflite"
    bad.write_bytes(b"definitely not a model")
    out = tmp_path / "out.mp4"
    proc = cli("run", "--model", bad, "--source", clip, "--save", out, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4", "model.tflite"]


@pytest.mark.slow
def test_live_stream_run_stopped_by_kill_finishes_video_and_metrics(reference, tmp_path):
    """A network camera (an MJPEG stream over HTTP) until `kill`: the video and summary still come out."""
    stop = threading.Event()
    camera = BrowserSink("127.0.0.1", 0, stats=dict)
    frames = pan_frames(reference / "cat_720p.jpg", 8)

    def feed():
        i = 0
        while not stop.is_set():
            camera.write(frames[i % len(frames)])
            i += 1
            time.sleep(0.01)  # 100 FPS: faster than the model, so frames get dropped

    threading.Thread(target=feed, daemon=True).start()
    out = tmp_path / "live.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgevision", "run", "--model", reference / MODEL, "--labels",
         reference / "imagenet_labels.txt", "--source", f"{camera.url}stream.mjpg", "--save", out, "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".live.mp4.*")) and time.monotonic() < deadline:
            time.sleep(0.2)  # wait until frames are being written
        time.sleep(1.5)
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        stop.set()
        camera.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    summary = assert_valid("run_metrics", json.loads(stdout))
    assert summary["source_live"] is True and summary["frames"] > 0
    assert summary["dropped"] > 0 and summary["frames_read"] >= summary["frames"] + summary["dropped"]
    assert summary["label_counts"] == {"Egyptian cat": summary["frames"]}
    assert read_video(out) == (summary["frames"], (640, 360))


def test_ctrl_c_stops_serve_even_when_started_with_sigint_ignored(clip, reference):
    """A background job of a script (or a test runner) starts with SIGINT ignored; the
    "Ctrl-C to stop" of `--serve` must still work (CI once waited forever here)."""
    import signal
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgevision", "run", "--model", reference / MODEL, "--source", clip,
         "--serve", f"127.0.0.1:{port}", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        for line in proc.stderr:
            if "still serving" in line:
                break
        proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert assert_valid("run_metrics", json.loads(stdout))["frames"] == CAT_FRAMES + PARROT_FRAMES
