"""A one-line progress bar on stderr (redrawn in place on a terminal, one line per job otherwise)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress over `total` jobs, each with phases (warm-up, runs, accuracy) of known length."""

    def __init__(self, total_jobs: int, stream=None, width: int = 24):
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.total, self.width = total_jobs, width
        self.job, self.title = 0, ""
        self._last_draw = 0.0

    def start_job(self, title: str):
        self.job += 1
        self.title = title
        self.update("loading", 0, 0)

    def update(self, phase: str, done: int, total: int, force: bool = False):
        if not self.tty:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < 0.1 and done != total:
            return
        self._last_draw = now
        filled = int(self.width * done / total) if total else 0
        bar = "█" * filled + "░" * (self.width - filled)
        counts = f"{done}/{total}" if total else ""
        self.stream.write(f"\r\x1b[2K[{self.job}/{self.total}] {self.title}  {phase:<8} {bar} {counts}")
        self.stream.flush()

    def finish_job(self, summary: str):
        """Replace the bar by the job's one-line result."""
        prefix = "\r\x1b[2K" if self.tty else ""
        self.stream.write(f"{prefix}[{self.job}/{self.total}] {self.title}: {summary}\n")
        self.stream.flush()
