"""`edgevision export`: a trained model.keras -> TFLite / ONNX files, checked against Keras."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

NAME = "export"
HELP = "Export a Keras model to TFLite (fp32/fp16/dynamic/int8) and ONNX, with a parity and size report."
ORDER = 30


def _list_of(choices: tuple[str, ...]):
    """An argparse type: a comma list whose every item is one of `choices`."""

    def parse(text: str) -> tuple[str, ...]:
        items = tuple(part.strip().lower() for part in text.split(",") if part.strip())
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"{', '.join(unknown) or repr(text)} is not one of {', '.join(choices)} "
                                             f"(give one or several, comma-separated)")
        return items

    return parse


def _agreement(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not in (0, 1]")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    from edgevision.export.options import FORMATS, IO_DTYPES, QUANTIZATIONS

    parser.add_argument("model", help="the model.keras to export (its sidecar model.json is read too)")
    parser.add_argument("--out", required=True, help="folder for the exported files and export_report.json")
    parser.add_argument("--format", type=_list_of(FORMATS), default=("tflite",), help="tflite, onnx or both: tflite,onnx")
    parser.add_argument("--quantize", type=_list_of(QUANTIZATIONS), default=("none",),
                        help="none|fp16|dynamic|int8, or several: none,int8 (default none = float32)")
    parser.add_argument("--io-dtype", default="int8", choices=IO_DTYPES,
                        help="input/output tensor type of int8 TFLite models (default int8)")
    parser.add_argument("--calib-data", help="image folder for int8 calibration (detectors: a COCO/VOC/YOLO dataset; "
                        "default: the training data recorded with the model)")
    parser.add_argument("--calib-count", type=int, default=200, help="calibration images, balanced across classes")
    parser.add_argument("--eval-data", help="held-out image folder for the parity check (detectors: a COCO/VOC/YOLO "
                        "dataset for mAP; default: the validation split recorded with the model)")
    parser.add_argument("--min-agreement", type=_agreement, default=0.97,
                        help="least top-1 agreement with Keras a quantized file must reach (default 0.97)")
    parser.add_argument("--max-map-drop", type=float, default=0.05,
                        help="detectors: largest mAP@.5 loss an int8 file may show against Keras (default 0.05)")
    parser.add_argument("--allow-float-fallback", action="store_true",
                        help="int8: keep ops that cannot be integer-quantized in float instead of stopping")
    parser.add_argument("--keep-float", type=lambda t: tuple(p.strip() for p in t.split(",") if p.strip()),
                        default=(), metavar="auto|LAYER,...",
                        help="int8: re-export with the worst layers (auto) or the named ones left in float")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--unsafe", action="store_true",
                        help="allow Keras files that run Python code on load (Lambda layers); only for trusted files")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout")


def run(args) -> int:
    from edgevision.errors import CheckFailed
    from edgevision.export import report
    from edgevision.export.options import ExportOptions
    from edgevision.export.pipeline import export_model

    options = ExportOptions(
        formats=args.format, quantize=args.quantize, io_dtype=args.io_dtype, calib_data=args.calib_data,
        calib_count=args.calib_count, eval_data=args.eval_data, min_agreement=args.min_agreement,
        max_map_drop=args.max_map_drop,
        allow_float_fallback=args.allow_float_fallback, keep_float=args.keep_float, unsafe=args.unsafe,
        opset=args.opset,
    )
    try:
        with _stdout_to_stderr(args.json):
            result = export_model(args.model, args.out, options)
    except CheckFailed as failed:
        _show(getattr(failed, "report", None), args.json, report)
        raise
    _show(result, args.json, report)
    return 0


@contextlib.contextmanager
def _stdout_to_stderr(active: bool):
    """Converters print on file descriptor 1; with --json only the report may go there."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _show(result, as_json: bool, report) -> None:
    if result is None:
        return
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(report.table(result))
        print(f"report: {result['artifacts'][0]['path'].rsplit('/', 1)[0]}/export_report.md", file=sys.stderr)
