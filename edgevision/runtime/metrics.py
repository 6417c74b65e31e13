"""The one metrics tracker: per-stage latency, rolling and overall FPS, dropped frames, RSS.

Used by `predict`, `run`, `bench` and export's latency figures alike, so every number
edgevision prints about speed is computed the same way.
"""

from __future__ import annotations

import collections
import os
import sys
import time

import numpy as np

PERCENTILES = (50, 90, 99)
# Latency samples kept per stage: every sample of a bench or a clip, the last ~10 minutes of a
# 30 FPS camera, so a camera left running for days keeps flat memory.
MAX_SAMPLES = 20_000


def latency_stats(samples_ms) -> dict:
    """{"mean", "std", "min", "p50", "p90", "p99", "max"} in ms (numpy linear percentiles).

    All values are None for no samples, so a JSON report stays well-formed.
    """
    a = np.asarray(list(samples_ms) if not isinstance(samples_ms, np.ndarray) else samples_ms, dtype=np.float64)
    keys = ("mean", "std", "min", *(f"p{p}" for p in PERCENTILES), "max")
    if a.size == 0:
        return dict.fromkeys(keys)
    p = np.percentile(a, PERCENTILES)
    values = (a.mean(), a.std(), a.min(), *p, a.max())
    return {k: float(v) for k, v in zip(keys, values, strict=True)}


def _ru_maxrss_mb() -> float | None:
    """Peak RSS from getrusage (bytes on macOS, KiB elsewhere), None if unknown."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    except (ImportError, OSError):
        return None


def rss_mb() -> float | None:
    """Resident set size of this process in MiB (Linux /proc; ru_maxrss elsewhere), None if unknown."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return _ru_maxrss_mb()


def peak_rss_mb() -> float | None:
    """Peak resident set size of this process in MiB, None if unknown.

    Linux: VmHWM of /proc/self/status, which starts afresh at exec; ru_maxrss does not (a
    worker started by a process holding TensorFlow would report TensorFlow's memory).
    """
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return _ru_maxrss_mb()


class MetricsTracker:
    """Collects per-stage latencies and frame completions; `summary()` gives the report dict.

    `window` is the number of most recent frames the rolling FPS is computed over.
    Each stage keeps its last `max_samples` latencies, so percentiles are exact for any bench or
    clip and cover the most recent samples of a long live run; `count` is every sample seen.
    """

    def __init__(self, window: int = 120, clock=time.perf_counter, max_samples: int = MAX_SAMPLES):
        if window < 2:
            raise ValueError("window must be at least 2 frames")
        self._clock = clock
        self._max_samples = max_samples
        self._stages: dict[str, collections.deque[float]] = {}
        self._counts: collections.Counter[str] = collections.Counter()
        self._frame_times: collections.deque[float] = collections.deque(maxlen=window)
        self._start = clock()
        self._last_frame: float | None = None
        self.frames = 0
        self.dropped = 0
        self.extra: dict = {}

    def add(self, stage: str, ms: float) -> None:
        samples = self._stages.get(stage)
        if samples is None:
            samples = self._stages[stage] = collections.deque(maxlen=self._max_samples)
        samples.append(float(ms))
        self._counts[stage] += 1

    def add_timings(self, timings_ms: dict) -> None:
        for stage, ms in timings_ms.items():
            self.add(stage, ms)

    def frame(self, dropped: int = 0) -> None:
        """One finished frame; `dropped` counts frames skipped since the previous one."""
        now = self._clock()
        self._frame_times.append(now)
        self._last_frame = now
        self.frames += 1
        self.dropped += int(dropped)

    def samples(self, stage: str) -> list[float]:
        return list(self._stages.get(stage, ()))

    @property
    def stages(self) -> list[str]:
        return list(self._stages)

    @property
    def fps_rolling(self) -> float:
        """Frames per second over the last `window` frames (0 until two frames are in)."""
        times = self._frame_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def fps_overall(self) -> float:
        """Frames per second from the tracker's creation to the last finished frame."""
        if not self.frames or self._last_frame is None or self._last_frame <= self._start:
            return 0.0
        return self.frames / (self._last_frame - self._start)

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self._start

    def summary(self) -> dict:
        """{"stages": {stage: {mean, std, min, p50, p90, p99, max, count}}, "fps": {...}, ...}."""
        return {
            "stages": {s: {**latency_stats(v), "count": self._counts[s]} for s, v in self._stages.items()},
            "fps": {"rolling": self.fps_rolling, "overall": self.fps_overall},
            "frames": self.frames,
            "dropped": self.dropped,
            "elapsed_s": self.elapsed_s,
            "rss_mb": rss_mb(),
            "peak_rss_mb": peak_rss_mb(),
            **self.extra,
        }
