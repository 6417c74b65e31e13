"""The `edgevision run` loop: source -> model.predict -> overlay -> sinks, with the stages overlapping.

Three threads work at once: the source's reader decodes and pre-processes frame n+2
(`model.prepare`: resize, colour order, quantize), this loop runs inference and post-processing
on frame n+1 (`model.predict_prepared`) and the render thread draws and writes frame n. Bounded
queues between them keep memory flat and let the slowest stage set the pace, so throughput
approaches 1 / (time of the slowest stage) instead of 1 / (sum of all stages). Pre-processing
sits with decoding because inference is usually the slowest stage: the loop running it does
nothing else. For files both queues hold up to 64 MiB of frames (24 at 720p,
`sources.file_queue_size`), so that a stall of one stage on a busy machine does not stop the others.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from edgevision.runtime import overlay
from edgevision.runtime.metrics import MetricsTracker

# Frames waiting for the render thread: live sources keep it short to keep the view current;
# files get the same slack as their source queue, so a slow frame in one stage is absorbed.
LIVE_RENDER_QUEUE = 2


class Pipeline:
    """Runs `model` over `source` into `sinks`, tracking per-stage latency, FPS, drops and memory."""

    def __init__(self, model, source, sinks, *, model_path=None, max_frames: int | None = None,
                 tracker: MetricsTracker | None = None):
        self.model = model
        self.source = source
        self.sinks = list(sinks)
        self.model_path = Path(model_path) if model_path else None
        self.max_frames = max_frames
        self.tracker = tracker or MetricsTracker()  # FPS counts from here: create it just before run()
        self.state = "starting"
        self.interrupted = False
        self.label_counts: Counter = Counter()
        self._lock = threading.Lock()  # the render thread feeds the tracker, summary() reads it
        self._last_ms: dict[str, float] = {}
        self._render_error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=LIVE_RENDER_QUEUE if source.live else source.queue_size)
        source.prepare = model.prepare  # pre-processing runs in the source's reader thread

    # -- running --------------------------------------------------------------------------------
    def run(self):
        """Process frames until the source ends, `max_frames` is reached or a sink asks to stop.

        KeyboardInterrupt (Ctrl-C) ends the run like the end of the stream; other errors propagate.
        """
        renderer = threading.Thread(target=self._render_loop, name="render", daemon=True)
        renderer.start()
        self.state = "running"
        try:
            processed = 0
            for frame in self.source:
                if self._should_stop():
                    break
                prepared = frame.prepared
                if prepared is None:  # read before this pipeline was attached to the source
                    prepared = self.model.prepare(frame.image)
                result = self.model.predict_prepared(prepared)
                self._hand_to_renderer((frame, result))  # which records the frame's figures
                processed += 1
                if self.max_frames and processed >= self.max_frames:
                    break
        except KeyboardInterrupt:
            self.interrupted = True
            print("edgevision run: stopping (interrupted)", file=sys.stderr)
        finally:
            self._finish_renderer(renderer)
            self.source.close()
            self.state = "finished"
        if self._render_error is not None:
            raise self._render_error

    def _should_stop(self) -> bool:
        return self._render_error is not None or any(s.stop_requested for s in self.sinks)

    def _hand_to_renderer(self, item):
        while self._render_error is None:
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def _finish_renderer(self, renderer):
        while renderer.is_alive():
            try:
                self._queue.put(None, timeout=0.2)
                break
            except queue.Full:
                continue
        renderer.join()

    def _render_loop(self):
        try:
            while (item := self._queue.get()) is not None:
                if self._should_stop():  # e.g. q pressed in the window: frames still queued are not shown
                    continue
                frame, result = item
                stages_ms = {"capture": frame.capture_ms, **result.timings_ms}
                start = time.perf_counter()
                if self.sinks:  # the HUD shows this frame's stages and the previous frame's render
                    hud_ms = {**stages_ms, "render": self._last_ms.get("render", 0.0)}
                    hud = {"fps": self.tracker.fps_rolling, "dropped": self.source.frames_dropped, "stages_ms": hud_ms}
                    image = overlay.draw(frame.image, result, hud, copy=False)
                    for sink in self.sinks:
                        sink.write(image)
                    stages_ms["render"] = (time.perf_counter() - start) * 1000.0
                with self._lock:  # this thread is the tracker's only writer; summary() reads it
                    self.tracker.add_timings(stages_ms)
                    self.tracker.frame(dropped=frame.dropped)
                    self._last_ms = stages_ms
                    self._count_labels(result)
        except BaseException as exc:  # raised again by run() in the main thread
            self._render_error = exc
            while self._queue.get() is not None:  # unblock the producer until it sends the end marker
                pass

    def _count_labels(self, result):
        detections = getattr(result, "detections", None)
        if detections is not None:
            self.label_counts.update(d.label for d in detections)
        elif getattr(result, "top_k", None):
            self.label_counts[result.top_k[0].label] += 1

    # -- reporting ------------------------------------------------------------------------------
    def summary(self) -> dict:
        """The metrics summary (`--json`, `--metrics`, /stats.json): tracker figures plus run context."""
        with self._lock:
            stats = dict(self.tracker.summary())
            label_counts = dict(self.label_counts.most_common())
        info = getattr(self.model, "info", None)
        stats.update({
            "model": str(self.model_path) if self.model_path else None,
            "model_name": self.model_path.name if self.model_path else None,
            "model_size_bytes": getattr(self.model, "size_bytes", None),
            "task": getattr(info, "task", None),
            "source": self.source.name,
            "source_live": self.source.live,
            "frames_read": self.source.frames_read,
            "state": self.state,
            "outputs": [s.describe() for s in self.sinks],
            "label_counts": label_counts,
        })
        return stats

