"""The live browser view, rendered by a real browser (headless Chromium, Debian's `chromium`):
`run --serve` on a clip, then the page must show the video and the statistics."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import cv2
import numpy as np
import pytest

from tests.conftest import ROOT
from tests.formats_check import assert_valid

from .video_clips import pan_frames, write_video

MODEL = "mobilenet_v2_1.0_224_quant.tflite"
CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(apt-get install -y chromium); the browser view is not tested")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium(tmp_path, *args, timeout=60):
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def served(tmp_path, reference):
    """`edgevision run --serve` on a short cat clip, left serving its last frame; yields (url, process)."""
    clip = write_video(tmp_path / "clip.mp4", pan_frames(reference / "cat_720p.jpg", 12), fps=15)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgevision", "run", "--model", reference / MODEL,
         "--labels", reference / "imagenet_labels.txt", "--source", clip, "--serve", f"127.0.0.1:{port}", "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"})  # SIGABRT dumps every thread's stack
    serving = threading.Event()
    proc.stderr_lines = []

    def watch_stderr():  # wait until the clip is done and the view holds its last frame
        for line in proc.stderr:
            proc.stderr_lines.append(line)
            if "still serving" in line:
                serving.set()

    threading.Thread(target=watch_stderr, daemon=True).start()
    try:
        assert serving.wait(90), "run --serve never reached the end of the clip"
        yield f"http://127.0.0.1:{port}/", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.mark.slow
def test_browser_shows_stream_and_statistics(served, tmp_path):
    url, proc = served
    stats = assert_valid("run_metrics", json.loads(urllib.request.urlopen(url + "stats.json", timeout=5).read()))
    assert stats["frames"] == 12 and stats["state"] == "finished"

    shot = tmp_path / "page.png"
    _chromium(tmp_path, "--virtual-time-budget=3000", f"--screenshot={shot}", "--window-size=1280,720", url)
    page = cv2.imread(str(shot))
    assert page is not None and page.shape[:2] == (720, 1280)
    video = page[8:480, 8:840]  # the stream fills the left three quarters of the page
    assert video.std() > 30, "the video area is blank"
    assert np.median(video[:, :, 2]) > np.median(page[600:, :, 2]) + 40  # warm cat photo, not dark page

    dom = _chromium(tmp_path, "--virtual-time-budget=3000", "--dump-dom", url).stdout
    assert MODEL in dom  # model name from /stats.json
    assert "<td>inference</td>" in dom and "<td>render</td>" in dom
    assert "<td>640x360</td>" in dom  # the browser decoded the MJPEG stream at the clip's size

    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)  # reads stdout while waiting: a full pipe cannot block the exit
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGABRT)
        _, err = proc.communicate(timeout=20)
        # Seen in the full CI suite when run started with SIGINT ignored (fixed: run re-arms it, see
        # test_video_run.py); should it come back, the stacks of its threads say where it waits.
        pytest.fail("run --serve did not exit on SIGINT: " + "".join(proc.stderr_lines[-20:]) + (err or "")[-4000:])
    assert proc.returncode == 0
    assert json.loads(out)["frames"] == 12
