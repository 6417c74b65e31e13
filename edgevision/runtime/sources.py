"""Video sources for `edgevision run`: a camera index, a video file, an RTSP/HTTP URL, a folder of images.

Each source reads frames through OpenCV in its own thread into a bounded queue, so decoding
overlaps with inference. Live sources (camera, URL) keep only the newest frame and count the
ones they dropped; files and folders deliver every frame (the reader waits, nothing is lost).
A network stream that breaks is reopened with exponential backoff, a bounded number of times.
`source.prepare`, when set, runs on every frame in the reader thread too (the video pipeline
sets it to the model's pre-processing) and its result travels with the frame.

    with open_source("clip.mp4") as source:
        for frame in source:          # Frame(image, index, capture_ms, dropped, prepared)
            ...
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgevision.errors import UserError

# Frames a file or folder source may hold ahead of the model (and the pipeline behind it): about
# 64 MiB of pixels, between 8 and 32 frames (24 at 720p, 10 at 1080p). Slack absorbs a stall of
# one stage on a busy machine instead of stopping the others; live sources hold one frame.
FILE_QUEUE_BYTES = 64 * 2**20
FILE_QUEUE_FRAMES = (8, 32)
URL_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


@dataclass
class Frame:
    """One captured frame: BGR uint8 pixels, its position, how long reading it took, and how many
    newer frames replaced older ones since the previous delivered frame (live sources only)."""

    image: np.ndarray
    index: int
    capture_ms: float
    dropped: int = 0
    prepared: object = None  # what `source.prepare(image)` returned, in the reader thread


@dataclass
class Backoff:
    """Reconnection policy for network streams: waits first, first*factor, ... up to `largest`."""

    attempts: int = 5
    first_s: float = 0.5
    factor: float = 2.0
    largest_s: float = 8.0

    def delays(self):
        delay = self.first_s
        for _ in range(self.attempts):
            yield delay
            delay = min(delay * self.factor, self.largest_s)


class _End:
    """Queue marker: the stream is over (`error` set when it ended by failing)."""

    def __init__(self, error: BaseException | None = None):
        self.error = error


def describe(spec) -> str:
    """What kind of source a `--source` value names: camera, url, folder or file."""
    spec = str(spec)
    if spec.isdigit():
        return "camera"
    if spec.lower().startswith(URL_SCHEMES):
        return "url"
    if Path(spec).is_dir():
        return "folder"
    return "file"


def open_source(spec, *, queue_size: int | None = None, open_timeout_s: float = 10.0,
                backoff: Backoff | None = None):
    """Open `spec` (`0`, `clip.mp4`, `rtsp://...`, `frames/`) and start reading; UserError when it cannot be.

    `queue_size`: frames a file or folder may read ahead (default: `file_queue_size` of its frames).
    """
    kind = describe(spec)
    spec = str(spec)
    _quiet_opencv()
    if kind == "camera":
        return CaptureSource(spec, _open_camera(int(spec)), live=True, queue_size=1)
    if kind == "url":
        reopen = lambda: _open_url(spec, open_timeout_s)  # noqa: E731
        capture = reopen()
        if _frame_count(capture) > 0:  # a video file on a web server: every frame, no reconnecting
            return CaptureSource(_redact(spec), capture, live=False,
                                 queue_size=queue_size or file_queue_size(*_frame_size(capture)))
        return CaptureSource(_redact(spec), capture, live=True, queue_size=1, reopen=reopen,
                             backoff=backoff or Backoff())
    if kind == "folder":
        return FolderSource(spec, queue_size=queue_size or file_queue_size())
    capture = _open_file(spec)
    return CaptureSource(spec, capture, live=False, queue_size=queue_size or file_queue_size(*_frame_size(capture)))


def file_queue_size(width: int = 0, height: int = 0) -> int:
    """Frames to read ahead from a file of this frame size (unknown size: the fewest)."""
    least, most = FILE_QUEUE_FRAMES
    if width <= 0 or height <= 0:
        return least
    return int(min(max(FILE_QUEUE_BYTES // (width * height * 3), least), most))


class _ThreadedSource:
    """A reader thread filling a bounded queue; iterating yields Frames until the end of the stream."""

    def __init__(self, name: str, *, live: bool, queue_size: int):
        self.name = name
        self.live = live
        self.fps = 0.0  # frames per second the source declares (0 when unknown)
        self.frames_read = 0
        self.frames_dropped = 0
        self.warning: str | None = None  # set when the stream ended by failing after frames were read
        self.prepare = None  # optional image -> anything, run on each frame in the reader thread
        self.queue_size = max(1, queue_size)
        self._queue: queue.Queue = queue.Queue(maxsize=self.queue_size)
        self._stop = threading.Event()
        self._dropped_reported = 0
        self._thread = threading.Thread(target=self._run, name=f"capture:{name}", daemon=True)
        self._started = False

    # -- subclass interface -------------------------------------------------------------------
    def _read(self) -> np.ndarray | None:
        """The next frame, or None at the end of the stream."""
        raise NotImplementedError

    def _release(self):
        pass

    # -- reader thread ------------------------------------------------------------------------
    def _run(self):
        end = _End()
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                image = self._read()
                if image is None:
                    break
                frame = Frame(image, self.frames_read, (time.perf_counter() - start) * 1000.0)
                self.frames_read += 1
                prepare = self.prepare
                if prepare is not None:
                    frame.prepared = prepare(image)
                if self.live:
                    self._put_newest(frame)
                elif not self._put_waiting(frame):
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            end = _End(exc)
        finally:
            self._release()
            self._put_waiting(end, force=True)

    def _put_newest(self, frame):
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.frames_dropped += 1
                except queue.Empty:
                    pass

    def _put_waiting(self, item, force=False) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        if force:  # the consumer is gone; make room so a late reader still sees the end
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                pass
        return False

    # -- consumer -----------------------------------------------------------------------------
    def start(self):
        if not self._started:
            self._started = True
            self._thread.start()
        return self

    def __iter__(self):
        self.start()
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            dropped = self.frames_dropped - self._dropped_reported
            self._dropped_reported += dropped
            item.dropped = dropped
            yield item

    def close(self, timeout_s: float = 5.0):
        """Stop reading and release the device or file (waits at most `timeout_s` for the reader)."""
        self._stop.set()
        if self._started:
            self._thread.join(timeout_s)
        else:
            self._release()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class CaptureSource(_ThreadedSource):
    """A cv2.VideoCapture: camera, file or network stream (`reopen` set for the latter)."""

    def __init__(self, name, capture, *, live, queue_size, reopen=None, backoff=None):
        super().__init__(name, live=live, queue_size=queue_size)
        self._capture = capture
        self._reopen = reopen
        self._backoff = backoff
        self._lock = threading.Lock()
        self.fps = _declared_fps(capture)
        self.reconnects = 0

    def _read(self):
        ok, image = self._capture.read()
        if ok and image is not None:
            return image
        if self._reopen is None or self._stop.is_set():
            return None
        return self._reconnect()

    def _reconnect(self):
        """The stream broke: reopen it after growing pauses; None (end) when every attempt failed."""
        last = "no frame"
        for delay in self._backoff.delays():
            if self._stop.wait(delay):
                return None
            print(f"edgevision run: {self.name}: stream lost ({last}); reconnecting", file=sys.stderr)
            try:
                capture = self._reopen()
            except UserError as exc:
                last = str(exc)
                continue
            with self._lock:
                self._capture.release()
                self._capture = capture
            self.reconnects += 1
            ok, image = capture.read()
            if ok and image is not None:
                return image
            last = "no frame after reconnecting"
        self.warning = f"{self.name}: stream lost and {self._backoff.attempts} reconnection attempts failed ({last})"
        return None

    def _release(self):
        with self._lock:
            self._capture.release()


class FolderSource(_ThreadedSource):
    """Every image in a folder, in name order."""

    def __init__(self, folder, *, queue_size):
        super().__init__(str(folder), live=False, queue_size=queue_size)
        self.paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise UserError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}): "
                            "point --source at a folder of images, a video file, a URL or a camera index")
        self._next = 0

    def _read(self):
        import cv2

        if self._next >= len(self.paths):
            return None
        path = self.paths[self._next]
        self._next += 1
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise UserError(f"{path} is not a readable image: remove it from the folder or replace it")
        return image


# -- opening ----------------------------------------------------------------------------------

def _quiet_opencv():
    """Keep OpenCV's and FFmpeg's own warnings off stderr (our errors say what went wrong in one line);
    EDGEVISION_DEBUG=1 lets them through."""
    import cv2

    if os.environ.get("EDGEVISION_DEBUG"):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read when FFmpeg is first used
    logging = getattr(getattr(cv2, "utils", None), "logging", None)  # absent from Debian's OpenCV 4.6 build
    if logging is not None:
        logging.setLogLevel(logging.LOG_LEVEL_ERROR)
    elif hasattr(cv2, "setLogLevel"):
        cv2.setLogLevel(3)  # cv::utils::logging::LOG_LEVEL_ERROR


def _open_camera(index: int):
    import cv2

    if sys.platform.startswith("linux") and not Path(f"/dev/video{index}").exists():
        raise UserError(f"camera {index} is not there (no /dev/video{index}): "
                        "plug one in, pick another index (ls /dev/video*) or pass a video file with --source")
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        capture.release()
        raise UserError(f"camera {index} cannot be opened (busy or no permission?): "
                        "close other programs using it or pass another --source")
    return capture


def _open_file(path: str):
    import cv2

    p = Path(path)
    if not p.exists():
        raise UserError(f"{path} does not exist: pass a video file, a folder of images, a URL or a camera index")
    if p.stat().st_size == 0:
        raise UserError(f"{path} is empty: pass a video file OpenCV can decode (mp4, avi, mkv, ...)")
    capture = cv2.VideoCapture(str(p))
    if not capture.isOpened():
        capture.release()
        raise UserError(f"{path} is not a video OpenCV can decode: convert it (e.g. ffmpeg -i {p.name} out.mp4)")
    return capture


def _open_url(url: str, timeout_s: float):
    """Open a network stream, giving up after `timeout_s` (OpenCV's own timeouts plus a watchdog)."""
    import cv2

    ms = int(timeout_s * 1000)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    result: dict = {}

    def attempt():
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)
        result["capture"] = capture

    # FFmpeg honours the timeouts for most protocols; the watchdog covers the rest.
    opener = threading.Thread(target=attempt, name="open-url", daemon=True)
    opener.start()
    opener.join(timeout_s + 2.0)
    capture = result.get("capture")
    if capture is None or not capture.isOpened():
        if capture is not None:
            capture.release()
        raise UserError(f"{_redact(url)} cannot be reached or decoded within {timeout_s:g} s: "
                        "check the address, that the stream is up and that this machine can reach it")
    return capture


def _frame_count(capture) -> int:
    """Frames in a finite video; 0 for live streams (OpenCV reports 0 or a negative number)."""
    import cv2

    count = capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0
    return int(count) if 0 < count < 1e12 else 0


def _frame_size(capture) -> tuple[int, int]:
    """(width, height) the capture declares, (0, 0) when unknown."""
    import cv2

    return int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)


def _declared_fps(capture) -> float:
    import cv2

    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    return float(fps) if 0 < fps < 1000 else 0.0


def _redact(url: str) -> str:
    """The URL without a password, for messages (rtsp://user:secret@cam -> rtsp://user:***@cam)."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}"
    return url

