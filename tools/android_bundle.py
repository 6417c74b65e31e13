"""Copy an exported model, its sidecar and its labels into the Android demo's assets.

    python tools/android_bundle.py out/model_int8.tflite [--labels out/labels.txt] [--assets DIR]

Checks the three files against each other first (the app checks them again on the phone and
shows any problem on screen), then writes `model.tflite`, `model.json` and `labels.txt` into
`android-demo/app/src/main/assets/` atomically. Exit 0 when bundled, 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edgevision import atomic
from edgevision.errors import UserError
from edgevision.metadata import read_sidecar, sidecar_path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ASSETS = ROOT / "android-demo" / "app" / "src" / "main" / "assets"
LAYOUTS_BY_TASK = {"classify": ("probabilities", "logits"), "detect": ("ssd_postprocessed", "ssd_raw")}


def read_labels(path: Path) -> list[str]:
    """One label a line (trailing blank lines ignored), as export writes labels.txt."""
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [line.strip() for line in lines]


def check_bundle(model: Path, labels_path: Path):
    """The model's ModelInfo and labels, or UserError naming the file and the fix."""
    if not model.is_file():
        raise UserError(f"{model} does not exist: pass the .tflite file `edgevision export` wrote")
    if model.suffix != ".tflite":
        raise UserError(f"{model} is not a .tflite file: the Android demo runs LiteRT models (export with --format tflite)")
    head = model.read_bytes()[:8]
    if len(head) < 8 or head[4:8] != b"TFL3":
        raise UserError(f"{model} is not a TFLite flatbuffer (first bytes {head!r}): re-export it with `edgevision export`")
    try:
        info = read_sidecar(model)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if info is None:
        raise UserError(f"{sidecar_path(model)} is missing: the app needs the sidecar `edgevision export` writes next to the model")
    if info.output_layout not in LAYOUTS_BY_TASK[info.task]:
        raise UserError(f"{sidecar_path(model)}: output_layout {info.output_layout!r} does not fit task {info.task!r}: re-export the model")
    if info.output_layout == "ssd_raw" and not info.anchors:
        raise UserError(f"{sidecar_path(model)}: output_layout ssd_raw needs anchors: re-export the model")
    if not labels_path.is_file():
        raise UserError(f"{labels_path} does not exist: pass --labels with the labels.txt exported with the model")
    labels = read_labels(labels_path)
    if labels[:1] == ["background"] and len(labels) == len(info.labels) + 1 and info.labels[:1] != ["background"]:
        labels = labels[1:]
    if len(labels) != len(info.labels):
        raise UserError(f"{labels_path} has {len(labels)} labels but {sidecar_path(model).name} describes {len(info.labels)} classes: "
                        "pass the labels.txt exported with this model")
    for i, (a, b) in enumerate(zip(labels, info.labels, strict=True)):
        if a != b:
            raise UserError(f"{labels_path} line {i + 1} is {a!r} but {sidecar_path(model).name} says {b!r}: "
                            "pass the labels.txt exported with this model")
    return info, labels


def bundle(model: Path, labels_path: Path, assets: Path) -> list[Path]:
    check_bundle(model, labels_path)
    written = []
    for source, name in ((model, "model.tflite"), (sidecar_path(model), "model.json"), (labels_path, "labels.txt")):
        atomic.write_bytes(assets / name, source.read_bytes())
        written.append(assets / name)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="exported .tflite (its <name>.json sidecar must sit next to it)")
    parser.add_argument("--labels", type=Path, help="labels file (default: labels.txt next to the model)")
    parser.add_argument("--assets", type=Path, default=DEFAULT_ASSETS, help=f"assets folder (default: {DEFAULT_ASSETS})")
    args = parser.parse_args(argv)
    labels = args.labels or args.model.parent / "labels.txt"
    try:
        written = bundle(args.model, labels, args.assets)
    except UserError as exc:
        print(f"android_bundle: {exc}", file=sys.stderr)
        return 2
    size = written[0].stat().st_size
    print(f"bundled {args.model} ({size / 1e6:.2f} MB) into {args.assets}: " + ", ".join(p.name for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
