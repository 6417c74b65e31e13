import numpy as np
import pytest

from edgevision.runtime.metrics import MetricsTracker, latency_stats


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_latency_stats_match_numpy_percentiles():
    samples = [float(x) for x in range(1, 101)]
    stats = latency_stats(samples)
    assert stats["min"] == 1 and stats["max"] == 100
    assert stats["mean"] == pytest.approx(50.5)
    assert stats["p50"] == pytest.approx(np.percentile(samples, 50))
    assert stats["p90"] == pytest.approx(90.1)
    assert stats["p99"] == pytest.approx(99.01)
    assert stats["std"] == pytest.approx(np.std(samples))


def test_latency_stats_of_nothing_is_all_none():
    assert set(latency_stats([]).values()) == {None}


def test_tracker_fps_window_and_dropped_frames():
    clock = FakeClock()
    tracker = MetricsTracker(window=3, clock=clock)
    for i in range(10):
        clock.t += 0.1 if i < 7 else 0.05  # 10 fps, then the last frames at 20 fps
        tracker.add_timings({"inference": 5.0 + i, "preprocess": 1.0})
        tracker.frame(dropped=1 if i == 4 else 0)
    assert tracker.frames == 10 and tracker.dropped == 1
    assert tracker.fps_rolling == pytest.approx(20.0)  # last 3 frames only
    assert tracker.fps_overall == pytest.approx(10 / 0.85)
    summary = tracker.summary()
    assert summary["stages"]["inference"]["count"] == 10
    assert summary["stages"]["inference"]["p50"] == pytest.approx(9.5)
    assert summary["stages"]["preprocess"]["max"] == 1.0
    assert summary["fps"]["rolling"] == pytest.approx(20.0)
    assert summary["frames"] == 10 and summary["dropped"] == 1
    assert summary["rss_mb"] > 1


def test_tracker_before_any_frame_reports_zero_fps():
    tracker = MetricsTracker()
    assert tracker.fps_rolling == 0.0 and tracker.fps_overall == 0.0
    assert tracker.summary()["stages"] == {}


def test_long_runs_keep_a_bounded_window_of_samples():
    tracker = MetricsTracker(max_samples=100)
    for i in range(1000):
        tracker.add("inference", float(i))
    stats = tracker.summary()["stages"]["inference"]
    assert stats["count"] == 1000
    assert len(tracker.samples("inference")) == 100
    assert stats["min"] == 900.0  # percentiles cover the most recent samples


def test_peak_rss_of_a_child_is_its_own_not_its_parents():
    import subprocess
    import sys

    ballast = b"\x01" * (300 * 2**20)  # the parent holds 300 MiB, touched
    code = "from edgevision.runtime.metrics import peak_rss_mb; print(peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 200, out.stdout
    del ballast
