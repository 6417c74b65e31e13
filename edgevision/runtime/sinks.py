"""Where annotated frames go: a window (`--show`), a video file (`--save`), a browser (`--serve`).

Every sink has `write(image_bgr)`, `close(ok=True)` and `stop_requested` (the user asked to stop,
e.g. pressed q in the window). The browser view is a stdlib ThreadingHTTPServer: `/` is an HTML
page showing the MJPEG stream `/stream.mjpg` and statistics polled from `/stats.json`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from edgevision.atomic import atomic_path
from edgevision.errors import UserError

DEFAULT_SERVE_PORT = 8080


def has_display() -> bool:
    """Whether a window can be shown (X11/Wayland on Linux; assumed on macOS and Windows)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class WindowSink:
    """An OpenCV window; q or Esc (or closing the window) asks the pipeline to stop."""

    def __init__(self, title: str = "edgevision"):
        if not has_display():
            raise UserError("--show needs a display and none is set (no DISPLAY/WAYLAND_DISPLAY, e.g. over SSH): "
                            "use --serve 127.0.0.1:8080 and open it in a browser, or --save out.mp4")
        import cv2

        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error as exc:
            raise UserError("--show: this OpenCV build cannot open windows (opencv-python-headless?): "
                            "pip install opencv-python, or use --serve / --save instead") from exc
        self.title = title
        self.stop_requested = False

    def describe(self) -> str:
        return f"window {self.title!r} (q to quit)"

    def write(self, image):
        import cv2

        cv2.imshow(self.title, image)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27) or cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self.stop_requested = True

    def close(self, ok: bool = True):
        import cv2

        with contextlib.suppress(cv2.error):
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)


class VideoFileSink:
    """A video file written with cv2.VideoWriter (mp4v for .mp4/.mov/.m4v, MJPG for .avi).

    The file appears under its name only when closed successfully (atomic rename). Frames of
    another size than the first are resized to it (VideoWriter silently drops them otherwise), and
    odd widths or heights get one black pixel row/column (MPEG-4 would crop it away).
    """

    FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}

    def __init__(self, path, fps: float = 30.0):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in self.FOURCC:
            raise UserError(f"--save {path}: unknown video type {suffix or '(no suffix)'}; "
                            f"name the file with one of {', '.join(self.FOURCC)}")
        if self.path.is_dir():
            raise UserError(f"--save {path} is a folder: give a file name such as {Path(path) / 'out.mp4'}")
        self.fps = fps if fps and fps > 0 else 30.0
        self.frames = 0
        self.stop_requested = False
        self._size = None  # of the first frame; later frames are resized to it
        self._pad = (0, 0)  # (bottom, right) to reach even dimensions
        self._writer = None
        self._atomic = contextlib.ExitStack()

    def describe(self) -> str:
        return f"video file {self.path}"

    def _open(self, width, height):
        import cv2

        tmp = self._atomic.enter_context(atomic_path(self.path))
        fourcc = cv2.VideoWriter_fourcc(*self.FOURCC[self.path.suffix.lower()])
        self._pad = (height % 2, width % 2)
        writer = cv2.VideoWriter(str(tmp), fourcc, float(self.fps), (width + width % 2, height + height % 2))
        if not writer.isOpened():
            self._atomic.close()
            raise UserError(f"--save {self.path}: OpenCV cannot write this video here; "
                            "check the folder is writable, or try an .avi name")
        self._writer, self._size = writer, (width, height)

    def write(self, image):
        import cv2

        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_LINEAR)
        if any(self._pad):
            image = cv2.copyMakeBorder(image, 0, self._pad[0], 0, self._pad[1], cv2.BORDER_CONSTANT, value=0)
        self._writer.write(image)
        self.frames += 1

    def close(self, ok: bool = True):
        """Finish the file; `ok=False` (a failed run) removes the partial file instead."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if ok:
            self._atomic.close()
        else:
            self._atomic.__exit__(RuntimeError, RuntimeError("run failed"), None)


def parse_host_port(value: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT`, `PORT` or `HOST` -> (host, port); loopback when the host is left out."""
    value = value.strip()
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = (("", value) if value.isdigit() else (value, str(DEFAULT_SERVE_PORT)))
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--serve {value}: the port must be a number 0-65535, as in --serve 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BrowserSink:
    """A live view in the browser: MJPEG stream plus live statistics.

    Frames are JPEG-encoded only when a viewer asks for them (once per frame, shared by all
    viewers), so serving costs nothing while no browser is open.
    `stats` is a callable returning the JSON-able dict served at /stats.json.
    """

    def __init__(self, host: str, port: int, stats, title: str = "edgevision", jpeg_quality: int = 80):
        self.stop_requested = False
        self._stats = stats
        self._title = title
        self._quality = jpeg_quality
        self._cond = threading.Condition()
        self._image = None
        self._seq = 0
        self._jpeg = (0, b"")
        self._closing = False
        self._ended = False
        handler = type("Handler", (_Handler,), {"sink": self})
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_class((host, port), handler)
        except (OSError, OverflowError) as exc:
            raise UserError(f"--serve {host}:{port}: cannot listen there ({exc.strerror or exc}); "
                            "pick a free port (e.g. --serve 127.0.0.1:8081) or an address of this machine") from exc
        # Ctrl-C must not wait for browser tabs: an idle keep-alive connection or a stream a tab
        # stopped reading would otherwise hold server_close() (which joins request threads) forever.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="serve", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def describe(self) -> str:
        exposure = "" if is_loopback(self.host) else " (reachable from the network)"
        return f"browser view at {self.url}{exposure}"

    def write(self, image):
        with self._cond:
            self._image = image
            self._seq += 1
            self._cond.notify_all()

    def end_of_stream(self):
        """No more frames will come: streams send the last one and finish; the page and stats stay up."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def close(self, ok: bool = True):
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- used by the request handler -------------------------------------------------------------
    def next_jpeg(self, after: int, timeout: float = 1.0):
        """(seq, jpeg, more): the newest frame newer than `after` (jpeg None if none came within
        `timeout`); `more` is False once the stream has ended or the server is closing."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > after or self._closing or self._ended, timeout)
            if self._closing:
                return after, None, False
            if self._seq > after:
                return (*self._encode_locked(), True)
            return after, None, not self._ended

    def latest_jpeg(self):
        """(seq, jpeg bytes) of the newest frame; (0, None) before the first one."""
        with self._cond:
            return self._encode_locked() if self._image is not None else (0, None)

    def _encode_locked(self):
        import cv2

        if self._jpeg[0] != self._seq:
            ok, buf = cv2.imencode(".jpg", self._image, [cv2.IMWRITE_JPEG_QUALITY, self._quality])
            self._jpeg = (self._seq, buf.tobytes() if ok else b"")
        return self._jpeg

    def stats_json(self) -> bytes:
        return json.dumps(self._stats(), default=str).encode()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    sink: BrowserSink
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a connection may sit idle or blocked before its thread gives up
    BOUNDARY = "edgevisionframe"

    def log_message(self, format, *args):  # keep stderr for the run's own messages
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", _page(self.sink._title).encode())
        elif path == "/stats.json":
            self._send(HTTPStatus.OK, "application/json", self.sink.stats_json())
        elif path == "/frame.jpg":
            _, jpeg = self.sink.latest_jpeg()
            if jpeg:
                self._send(HTTPStatus.OK, "image/jpeg", jpeg)
            else:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, "text/plain", b"no frame yet\n")
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _send(self, status, content_type, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self):
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={self.BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        seq, first = self.sink.latest_jpeg()  # a viewer joining after the end still sees the last frame
        try:
            self.wfile.write(f"--{self.BOUNDARY}".encode())
            if first:
                self._part(first)
            more = True
            while more:
                seq, jpeg, more = self.sink.next_jpeg(seq)
                if jpeg:
                    self._part(jpeg)
            self.wfile.write(b"--\r\n")  # the closing delimiter: the browser keeps showing the last frame
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass

    def _part(self, jpeg: bytes):
        # The boundary goes right after each image, so browsers show it now rather than when the next arrives.
        self.wfile.write(
            f"\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
            + jpeg + f"\r\n--{self.BOUNDARY}".encode()
        )
        self.wfile.flush()


def _page(title: str) -> str:
    return _PAGE.replace("__TITLE__", title.replace("&", "&amp;").replace("<", "&lt;"))


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { margin: 0; font: 14px system-ui, sans-serif; background: #111; color: #eee; display: flex; flex-wrap: wrap; }
#view { flex: 3 1 480px; padding: 8px; }
#view img { width: 100%; height: auto; background: #222; display: block; }
#side { flex: 1 1 260px; padding: 8px 16px; }
h1 { font-size: 16px; margin: 4px 0 12px; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: 3px 6px; text-align: right; border-bottom: 1px solid #333; }
td:first-child, th:first-child { text-align: left; }
.big { font-size: 28px; font-weight: 600; }
.muted { color: #999; }
</style></head>
<body>
<div id="view"><img id="stream" alt="annotated video stream"></div>
<div id="side">
  <h1 id="model">__TITLE__</h1>
  <div><span class="big" id="fps">&ndash;</span> FPS <span class="muted" id="state"></span></div>
  <table id="summary"></table>
  <h1>Latency per stage (ms)</h1>
  <table id="stages"><thead><tr><th>stage</th><th>p50</th><th>p90</th><th>p99</th></tr></thead><tbody></tbody></table>
</div>
<script>
"use strict";
const num = (v, d = 1) => (typeof v === "number" && isFinite(v)) ? v.toFixed(d) : "\\u2013";
function row(cells, tag) {
  const tr = document.createElement("tr");
  for (const c of cells) { const td = document.createElement(tag || "td"); td.textContent = c; tr.appendChild(td); }
  return tr;
}
const img = document.getElementById("stream");
async function refresh() {
  try {
    const s = await (await fetch("/stats.json", {cache: "no-store"})).json();
    document.getElementById("model").textContent = s.model_name || s.model || "";
    const fps = s.fps || {};
    document.getElementById("fps").textContent = num(fps.rolling);
    document.getElementById("state").textContent = s.state === "finished" ? "(stream ended)" : "";
    const summary = document.getElementById("summary");
    summary.replaceChildren(
      row(["model size", num((s.model_size_bytes || 0) / 1e6, 2) + " MB"]),
      row(["frames", String(s.frames ?? "")]),
      row(["dropped", String(s.dropped ?? 0)]),
      row(["FPS overall", num(fps.overall)]),
      row(["RSS", num(s.rss_mb) + " MB"]),
      row(["video", img.naturalWidth ? img.naturalWidth + "x" + img.naturalHeight : "waiting"]));
    const body = document.querySelector("#stages tbody");
    body.replaceChildren(...Object.entries(s.stages || {}).map(
      ([name, st]) => row([name, num(st.p50), num(st.p90), num(st.p99)])));
  } catch (e) { document.getElementById("state").textContent = "(disconnected)"; }
}
window.addEventListener("load", () => {
  img.src = "/stream.mjpg";
  refresh();
  setInterval(refresh, 500);
});
refresh();
</script>
</body></html>
"""
