"""`edgevision run`: a model on a camera, a video file, a stream or a folder, live, with metrics."""

from __future__ import annotations

import json
import signal
import sys
import time

NAME = "run"
HELP = "Run a model on a camera, video file, stream URL or image folder; show, save or serve the result."
ORDER = 50


def configure(parser):
    parser.add_argument("--model", required=True, metavar="MODEL", help="a .tflite or .onnx model")
    parser.add_argument("--source", default="0", metavar="SOURCE",
                        help="camera index (0), video file, rtsp:// or http:// URL, or a folder of images (default: 0)")
    parser.add_argument("--show", action="store_true", help="show the annotated video in a window (needs a display)")
    parser.add_argument("--save", metavar="OUT.mp4", help="write the annotated video to this file")
    parser.add_argument("--serve", metavar="HOST:PORT", nargs="?", const="127.0.0.1:8080",
                        help="live view in a browser (default 127.0.0.1:8080; loopback unless a host is given)")
    parser.add_argument("--labels", metavar="FILE", help="label file, for models without a sidecar")
    from edgevision.metadata import NORMALIZATIONS

    parser.add_argument("--normalize", choices=tuple(NORMALIZATIONS), metavar="PRESET",
                        help="input normalisation for models without a description: imagenet, inception, unit or raw "
                        "(see `edgevision predict --help`)")
    parser.add_argument("--resize", choices=("bilinear", "nearest", "area"), default="bilinear",
                        help="resize filter (default bilinear)")
    parser.add_argument("--threads", type=int, metavar="N", help="inference threads (default: the cores available)")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N frames")
    parser.add_argument("--metrics", metavar="FILE", help="write the metrics summary (JSON) to FILE")
    parser.add_argument("--json", action="store_true", help="print the metrics summary as JSON on stdout")


def run(args) -> int:
    from edgevision import atomic
    from edgevision.errors import UserError
    from edgevision.runtime import load
    from edgevision.runtime.run_loop import Pipeline
    from edgevision.runtime.sinks import BrowserSink, VideoFileSink, WindowSink, parse_host_port
    from edgevision.runtime.sources import open_source

    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f"--max-frames {args.max_frames}: give a positive number of frames")
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads {args.threads}: give a positive number of threads")
    serve_at = parse_host_port(args.serve) if args.serve else None
    sinks = []
    source = None
    ok = False
    _sigterm_stops_like_ctrl_c()
    try:
        if args.show:  # before anything slow: no display means no point loading the model
            sinks.append(WindowSink(f"edgevision: {args.model}"))
        source = open_source(args.source)  # a missing camera or file fails before the model loads
        if args.save:
            sinks.append(VideoFileSink(args.save, fps=source.fps))
        model = load(args.model, threads=args.threads, labels=args.labels, normalize=args.normalize,
                     resize=args.resize)
        pipeline = Pipeline(model, source, [], model_path=args.model, max_frames=args.max_frames)
        if serve_at:
            sinks.append(BrowserSink(*serve_at, stats=pipeline.summary, title=f"edgevision: {args.model}"))
        pipeline.sinks = sinks
        _log(f"{args.model} on {source.name} -> " + (", ".join(s.describe() for s in sinks) or "metrics only"))
        pipeline.run()
        if source.warning:
            _log(f"warning: {source.warning}")
        if serve_at and _ended_by_itself(pipeline, args):
            _keep_serving(sinks[-1])
        ok = True
    finally:
        if source is not None:
            source.close()
        for sink in sinks:
            sink.close(ok=ok)

    summary = pipeline.summary()
    if summary["frames"] == 0:
        raise UserError(f"{args.source} gave no frames: check the source plays (e.g. with ffplay) and is not empty")
    if args.metrics:
        atomic.write_json(args.metrics, summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


def _ended_by_itself(pipeline, args) -> bool:
    """The source ran out (a file or folder), rather than Ctrl-C, --max-frames or a sink asking to stop."""
    reached_max = args.max_frames and pipeline.tracker.frames >= args.max_frames
    return not pipeline.interrupted and not reached_max and not any(s.stop_requested for s in pipeline.sinks)


def _keep_serving(sink):
    """After a file ends, keep the last frame and the final statistics up until Ctrl-C."""
    sink.end_of_stream()
    try:  # the line is inside: a Ctrl-C right after it still ends the run cleanly
        _log(f"end of the source; still serving the last frame at {sink.url} (Ctrl-C to stop)")
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def _sigterm_stops_like_ctrl_c():
    """`kill PID` (e.g. from a service manager) finishes the video and metrics like Ctrl-C does.

    Ctrl-C itself is re-armed: a process started with SIGINT ignored (a background job of a
    script, some test runners) would otherwise never leave `--serve`'s "Ctrl-C to stop" loop."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread (run called from a library): leave signals alone
        pass


def format_summary(s: dict) -> str:
    """The human-readable summary printed without --json."""
    lines = [f"{s['frames']} frames ({s['dropped']} dropped) in {s['elapsed_s']:.1f} s: "
             f"{s['fps']['overall']:.1f} FPS overall, {s['fps']['rolling']:.1f} FPS recently"]
    lines.append(f"{'stage':<12}{'p50':>8}{'p90':>8}{'p99':>8}  ms")
    for name, st in s["stages"].items():
        lines.append(f"{name:<12}" + "".join(f"{st[k]:>8.1f}" for k in ("p50", "p90", "p99")))
    size, rss, peak = s.get("model_size_bytes"), s.get("rss_mb"), s.get("peak_rss_mb")
    lines.append(f"model {s.get('model_name')}" + (f" ({size / 1e6:.1f} MB)" if size else "")
                 + (f", RSS {rss:.0f} MB (peak {peak:.0f} MB)" if rss and peak else ""))
    if s.get("label_counts"):
        top = ", ".join(f"{label} x{n}" for label, n in list(s["label_counts"].items())[:5])
        lines.append(f"seen: {top}")
    return "\n".join(lines)


def _log(message):
    print(f"edgevision run: {message}", file=sys.stderr, flush=True)
