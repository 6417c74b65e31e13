"""Real-data figures in one command: transfer learning on real photos from ImageNet weights, int8
parity of both formats on those photos, and the detector on a real dataset.

Reads the real kit in ../shared/reference/real (see its README); nothing is downloaded.

    python tools/bench_real.py --out /tmp/bench_real               # classification + export parity
    python tools/bench_real.py --out /tmp/bench_real --detector    # and the 20-minute detector

For each weights file (MobileNetV2 1.0, MobileNet v1 0.25) it runs the CLI as a user types it,
`edgevision train --model M --weights FILE --data hymenoptera` with the default recipe, then
`edgevision export --format tflite,onnx --quantize none,int8`, and reports validation accuracy
(phase 1's best, the last epoch, the best), wall time, int8 agreement with Keras, accuracy drop
and near-ties. `--phase1-speedup` also times phase 1 (5 epochs) on cached features against the
same phase 1 trained end to end. Writes bench_real.json and bench_real.md into --out; `--docs FILE`
also writes the tables into the `real` (`real-phase1`, `real-detection`) sections of docs/measurements.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "reference" / "real"
sys.path.insert(0, str(ROOT))

from tools import bench_detect, measurements  # noqa: E402

CLASSIFIERS = (
    # name, CLI model arguments, weights file, linear probe on the frozen features (the kit's README)
    ("mobilenet_v2_1.0", ("--model", "mobilenet_v2"), "weights/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5", 0.948),
    ("mobilenet_v1_0.25", ("--model", "mobilenet_v1", "--alpha", "0.25"), "weights/mobilenet_2_5_224_tf_no_top.h5", 0.843),
)
PHOTOS = "photos/hymenoptera"
SECTION, PHASE1_SECTION = "real", "real-phase1"


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def cli(*args) -> tuple[dict, float]:
    """Run `edgevision ARGS --json` in a fresh process: (its JSON, wall seconds)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "edgevision", *map(str, args), "--json"]
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode not in (0, 3):  # 3: a parity check failed; the report still tells how
        sys.exit(f"bench_real: {' '.join(command)} failed (exit {result.returncode})")
    return json.loads(result.stdout), wall


def classifier(name, model_args, weights, probe, out: Path) -> dict:
    run = out / name
    load_before = load_average()
    summary, train_wall = cli("train", *model_args, "--weights", REAL / weights, "--data", REAL / PHOTOS,
                              "--out", run, "--overwrite")
    history = json.loads((run / "history.json").read_text())
    val, phases = history["val_accuracy"], history["phase"]
    phase1 = [v for v, p in zip(val, phases, strict=True) if p == 1]
    report, export_wall = cli("export", run / "model.keras", "--format", "tflite,onnx", "--quantize", "none,int8",
                              "--out", run / "export")
    files = {Path(a["path"]).name: {k: a.get(k) for k in ("top1_agreement", "accuracy", "accuracy_drop",
                                                         "disagreements", "near_ties", "size_bytes", "passed")}
             for a in report["artifacts"]}
    return {
        "model": name, "weights": Path(weights).name, "options": list(model_args[2:]), "linear_probe_val_accuracy": probe,
        "phase1_best_val_accuracy": max(phase1) if phase1 else None,
        "last_val_accuracy": val[-1], "best_val_accuracy": max(val), "test_accuracy": summary["test_accuracy"],
        "epochs": summary["epochs"], "train_wall_seconds": round(train_wall, 1),
        "export_wall_seconds": round(export_wall, 1), "load_average": [load_before, load_average()],
        "artifacts": files,
    }


def phase1_speedup(out: Path, epochs: int = 5) -> dict:
    """Phase 1 (MobileNetV2 1.0, 224 px) trained on cached features and end to end, same epochs."""
    from edgevision.train import features
    from edgevision.train.classify import TrainConfig, train_classifier

    name, model_args, weights, _ = CLASSIFIERS[0]

    def timed(folder):
        config = TrainConfig(model="mobilenet_v2", data=str(REAL / PHOTOS), out=str(out / folder),
                             weights=str(REAL / weights), epochs=epochs, fine_tune_epochs=0)
        started = time.perf_counter()
        summary = train_classifier(config, overwrite=True, log=lambda *a: None)
        return round(time.perf_counter() - started, 1), summary["test_accuracy"]

    load_before = load_average()
    cached_seconds, cached_accuracy = timed("phase1_cached")
    head_model = features.head_model
    features.head_model = lambda model: None  # the end-to-end phase 1 the cache replaces
    try:
        whole_seconds, whole_accuracy = timed("phase1_end_to_end")
    finally:
        features.head_model = head_model
    return {"epochs": epochs, "cached_seconds": cached_seconds, "end_to_end_seconds": whole_seconds,
            "speedup": round(whole_seconds / cached_seconds, 2),
            "test_accuracy": {"cached": cached_accuracy, "end_to_end": whole_accuracy},
            "note": "wall time of the whole run (data loading and evaluation included, the same in both)",
            "load_average": [load_before, load_average()]}


def minutes(seconds: float) -> str:
    whole, rest = divmod(round(seconds), 60)
    return f"{whole} min {rest} s"


def classifiers_section(doc: dict) -> str:
    """Training and int8 parity of each weights file, as docs/measurements.md shows them."""
    training, parity = [], []
    for c in doc["classifiers"]:
        options = f", `{' '.join(c['options'])}`" if c["options"] else ""
        training.append([f"{c['model']} (`{c['weights']}`{options})", f"{c['linear_probe_val_accuracy']:.1%}",
                         f"{c['phase1_best_val_accuracy']:.1%}", f"{c['last_val_accuracy']:.1%}",
                         minutes(c["train_wall_seconds"])])
        for file, a in c["artifacts"].items():
            if "int8" in file:
                drop = "-" if a["accuracy_drop"] is None else f"{100 * a['accuracy_drop']:.1f} pt"
                parity.append([c["model"], file, f"{a['top1_agreement']:.1%}", drop,
                               f"{a['near_ties']} of {a['disagreements']}"])
    return "\n\n".join([
        measurements.heading(doc["command"], *doc["load_average"]),
        measurements.table(["weights", "linear probe on frozen features", "phase 1 best", "last epoch", "wall time"],
                           training),
        measurements.table(["weights", "int8 file", "agreement with Keras", "accuracy drop",
                            "near-ties among changed answers"], parity)])


def phase1_section(doc: dict) -> str:
    speed = doc["phase1_speedup"]
    accuracy = speed["test_accuracy"]
    same = ("the same test accuracy" if accuracy["cached"] == accuracy["end_to_end"] else
            f"test accuracy {accuracy['cached']:.1%} cached, {accuracy['end_to_end']:.1%} end to end")
    return (f"{measurements.heading(doc['command'], *speed['load_average'])}\n\n"
            f"Phase 1 ({speed['epochs']} epochs, MobileNetV2 1.0, 224 px): {speed['cached_seconds']:.0f} s on cached "
            f"features, {speed['end_to_end_seconds']:.0f} s end to end ({speed['speedup']:.1f}x; whole runs, data "
            f"loading and evaluation included); {same}.")


def sections(doc: dict) -> dict[str, str]:
    """docs/measurements.md section name -> its text, for what this run measured."""
    found = {SECTION: classifiers_section(doc)}
    if doc.get("phase1_speedup"):
        found[PHASE1_SECTION] = phase1_section(doc)
    if doc.get("detector"):
        found[bench_detect.REAL_SECTION] = bench_detect.real_section(doc["detector"], doc["command"])
    return found


def markdown(doc: dict) -> str:
    return "# Real-data figures\n\n" + "\n\n".join(sections(doc).values()) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--phase1-speedup", action="store_true", help="also time phase 1 cached vs end to end")
    parser.add_argument("--detector", action="store_true",
                        help="also train and export the detector as tools/bench_detect.py --real does (20 minutes)")
    measurements.add_docs_option(parser)
    args = parser.parse_args()
    measurements.require(args.docs, SECTION, *([PHASE1_SECTION] if args.phase1_speedup else []),
                         *([bench_detect.REAL_SECTION] if args.detector else []))
    if not (REAL / "README.md").is_file():
        sys.exit(f"bench_real: the real kit is not at {REAL}")
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {"command": measurements.command_line(), "cpu_count": os.cpu_count(), "load_average": [load_average()]}
    doc["classifiers"] = [classifier(*c, args.out) for c in CLASSIFIERS]
    if args.phase1_speedup:
        doc["phase1_speedup"] = phase1_speedup(args.out)
    if args.detector:
        doc["detector"] = bench_detect.real_detection(REAL, args.out / "detector")
    doc["load_average"].append(load_average())
    (args.out / "bench_real.json").write_text(json.dumps(doc, indent=2) + "\n")
    (args.out / "bench_real.md").write_text(markdown(doc))
    for name, text in sections(doc).items():
        measurements.publish(args.docs, name, text)


if __name__ == "__main__":
    main()
