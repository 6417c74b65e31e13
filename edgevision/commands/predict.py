"""`edgevision predict`: images in, top-k classes or detections out (and annotated copies)."""

NAME = "predict"
HELP = "classify or detect objects in images with a .tflite or .onnx model"
ORDER = 40


def configure(parser):
    parser.add_argument("model", metavar="MODEL", help="a .tflite or .onnx model (its .json description is read if present)")
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="image files (jpg, png, bmp, ...)")
    parser.add_argument("--labels", metavar="FILE", help="label file (one a line, optional background line, or `index label`)")
    parser.add_argument("--top-k", type=int, default=5, metavar="K", help="classes to report per image (default 5)")
    parser.add_argument("--threshold", type=float, default=None, metavar="T",
                        help="minimum score (default 0 for classes, 0.5 for detections)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="inference threads (default: the cores this process may use)")
    from edgevision.metadata import NORMALIZATIONS

    parser.add_argument("--normalize", choices=tuple(NORMALIZATIONS), metavar="PRESET",
                        help="input normalisation for models without a description: imagenet (torchvision mean/std, "
                        "ONNX Model Zoo), inception ([-1, 1]), unit ([0, 1]) or raw (pixels as they are)")
    parser.add_argument("--mean", metavar="M", help="input = (pixel - M) / S for float models without a description: "
                        "one value or three comma-separated (R,G,B)")
    parser.add_argument("--std", metavar="S", help="see --mean")
    parser.add_argument("--letterbox", action="store_true", help="keep the aspect ratio and pad instead of stretching")
    parser.add_argument("--resize", choices=("bilinear", "nearest", "area"), default="bilinear",
                        help="resize filter (default bilinear); nearest is PIL's, as pycoral's published scores use")
    parser.add_argument("--save-dir", metavar="DIR", help="write annotated copies of the images here")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from edgevision.errors import UserError
    from edgevision.runtime import load
    from edgevision.runtime.classification import SOFTMAX_OF_LOGITS
    from edgevision.runtime.metrics import MetricsTracker

    if args.top_k < 1:
        raise UserError(f"--top-k {args.top_k}: ask for 1 or more classes")
    images = [Path(p) for p in args.images]
    for path in images:
        if not path.is_file():
            raise UserError(f"{path}: no such image file: check the path")
    model = load(args.model, threads=args.threads, labels=args.labels,
                 mean=_values(args.mean, "--mean"), std=_values(args.std, "--std"), letterbox=args.letterbox,
                 normalize=args.normalize, resize=args.resize)
    tracker = MetricsTracker()
    results, warned = [], False
    for path in images:
        frame = _read_bgr(path)
        result = model.predict(frame, threshold=args.threshold, **({"top_k": args.top_k} if model.task == "classify" else {}))
        tracker.add_timings(result.timings_ms)
        tracker.frame()
        entry = {"image": str(path), **_result_json(result), "timings_ms": result.timings_ms}
        if args.save_dir:
            entry["annotated"] = str(_save_annotated(frame, result, Path(args.save_dir), path, results))
        results.append(entry)
        if not args.json:
            if getattr(result, "scores", None) == SOFTMAX_OF_LOGITS and not warned:
                print(f"{args.model}: its output is not a probability distribution: scores are the softmax "
                      "of its logits", file=sys.stderr)
                warned = True
            print(_result_text(path, result))
    if args.json:
        doc = {"model": str(args.model), "task": model.task, "backend": model.backend.name,
               "description": model.description_source, "results": results, "metrics": tracker.summary()}
        print(json.dumps(doc, indent=2))
    elif args.save_dir:
        print(f"annotated copies in {args.save_dir}", file=sys.stderr)
    return 0


def _values(text, flag):
    if text is None:
        return None
    from edgevision.errors import UserError

    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        raise UserError(f"{flag} {text!r}: give one number or three comma-separated numbers, e.g. 127.5") from None
    if len(values) not in (1, 3):
        raise UserError(f"{flag} {text!r}: give one number or three comma-separated numbers, e.g. 127.5")
    return values[0] if len(values) == 1 else values


def _read_bgr(path):
    from edgevision.data.images import BadImage, read_image
    from edgevision.errors import UserError

    try:
        return read_image(path)[:, :, ::-1].copy()
    except BadImage as exc:
        raise UserError(f"{path} is not a readable image ({exc}): pass a JPEG, PNG or BMP file") from None


def _result_json(result) -> dict:
    if hasattr(result, "top_k"):
        return {"top_k": [{"index": c.index, "label": c.label, "score": round(c.score, 6)} for c in result.top_k],
                "scores": result.scores}
    return {"detections": [{"index": d.index, "label": d.label, "score": round(d.score, 6),
                            "box": [round(v, 2) for v in d.box]} for d in result.detections]}


def _result_text(path, result) -> str:
    if hasattr(result, "top_k"):
        found = [f"{c.index} {c.label} {c.score:.3f}" for c in result.top_k]
    else:
        found = [f"{d.label} {d.score:.2f} at [{', '.join(f'{v:.0f}' for v in d.box)}]" for d in result.detections]
    return f"{path}: " + ("; ".join(found) if found else "nothing above the threshold")


def _save_annotated(frame, result, save_dir, path, earlier):
    import cv2

    from edgevision import atomic
    from edgevision.runtime import overlay

    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp") else ".png"
    taken = {e.get("annotated") for e in earlier}
    target, n = save_dir / f"{path.stem}{suffix}", 1
    while str(target) in taken:  # two inputs with the same name from different folders
        target, n = save_dir / f"{path.stem}_{n}{suffix}", n + 1
    ok, encoded = cv2.imencode(suffix, overlay.draw(frame, result))
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {target}")
    atomic.write_bytes(target, encoded.tobytes())
    return target
