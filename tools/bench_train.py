"""Training benchmark: MobileNetV2 alpha 0.35 at 96 px on synthetic:shapes, plain and pruned.

Targets (issue 3): >= 95% test accuracy within 3 epochs in total on 2 CPU cores, wall time
reported; with --prune 0.5 at most 2 points lost. The backbone starts from the project's own
pretrained weights (models/mobilenet_v2_0.35_96_pretext.weights.h5, made by
tools/pretrain_backbone.py on eight other shapes), standing in for the ImageNet weights that
cannot be downloaded on the build machines; `--weights none` measures training from scratch.

    python tools/bench_train.py                      # plain 2 + 1 epochs, pruned 2 + 6
    python tools/bench_train.py --epochs 2 --fine-tune-epochs 1 --data synthetic:shapes --out /tmp/bench
    python tools/bench_train.py --docs docs/measurements.md   # and write the table into its section

Each run is the real CLI in a fresh process (`edgevision train ... --json`); the wall time
includes start-up, data generation, both phases, evaluation and writing the run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from edgevision.models.registry import PRETEXT_BACKBONE  # noqa: E402
from tools import measurements  # noqa: E402

SECTION = "train"


def run(args, prune, out, fine_tune_epochs):
    command = [
        sys.executable, "-m", "edgevision", "train", "--model", "mobilenet_v2", "--alpha", "0.35",
        "--input-size", str(args.input_size), "--weights", args.weights, "--data", args.data,
        "--epochs", str(args.epochs), "--fine-tune-epochs", str(fine_tune_epochs),
        "--batch-size", str(args.batch_size), "--learning-rate", str(args.learning_rate),
        "--seed", str(args.seed), "--prune", str(prune), "--out", str(out), "--overwrite", "--json",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench_train: training failed (exit {result.returncode}): {' '.join(command)}")
    summary = json.loads(result.stdout)
    metrics = json.loads((Path(out) / "metrics.json").read_text())
    return {
        "prune": prune, "test_accuracy": summary["test_accuracy"], "global_sparsity": summary["global_sparsity"],
        "epochs": summary["epochs"], "phase_epochs": [args.epochs, fine_tune_epochs],
        "train_seconds": summary["seconds"], "wall_seconds": round(wall, 1),
        "load_average": measurements.load_average(),
        "per_class_recall": {k: v["recall"] for k, v in metrics["per_class"].items()},
    }


def figures_table(report: dict) -> str:
    """The runs as docs/measurements.md shows them, and the first run's recall per class."""
    rows = []
    for r in report["runs"]:
        accuracy = f"{r['test_accuracy']:.1%}"
        if r["prune"] and "accuracy_drop_points" in report:
            accuracy += f" ({-report['accuracy_drop_points']:+.1f} points)"
        rows.append(["plain" if not r["prune"] else f"`--prune {r['prune']:g}`", accuracy,
                     f"{r['global_sparsity']:.1%}", " + ".join(map(str, r["phase_epochs"])),
                     f"{r['wall_seconds']:.0f} s", f"{r['load_average']:g}"])
    first = report["runs"][0]
    recall = ", ".join(f"{name} {value:.1%}" for name, value in first["per_class_recall"].items())
    return "\n\n".join([
        measurements.table(["run", "test accuracy", "global sparsity", "epochs", "wall time", "load average"], rows),
        f"Recall per class, {'plain' if not first['prune'] else 'pruned'} run: {recall}."])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="synthetic:shapes")
    parser.add_argument("--input-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fine-tune-epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prune", type=float, default=0.5)
    parser.add_argument("--prune-fine-tune-epochs", type=int, default=6,
                        help="fine-tuning epochs of the pruned run: sparsity ramps up, then the model recovers")
    parser.add_argument("--weights", default=str(PRETEXT_BACKBONE), help="none | imagenet | PATH (default: %(default)s)")
    parser.add_argument("--skip-plain", action="store_true", help="only the pruned run")
    parser.add_argument("--out", default=None, help="folder for the two run folders (default: a temporary one)")
    measurements.add_docs_option(parser)
    args = parser.parse_args()
    measurements.require(args.docs, SECTION)

    base = Path(args.out or tempfile.mkdtemp(prefix="bench_train_"))
    runs = []
    if not args.skip_plain:
        runs.append(run(args, 0.0, base / "plain", args.fine_tune_epochs))
    if args.prune > 0:
        runs.append(run(args, args.prune, base / f"pruned_{args.prune:g}", args.prune_fine_tune_epochs))
    report = {"data": args.data, "weights": args.weights, "input_size": args.input_size, "cpus": os.cpu_count(),
              "load_average": os.getloadavg(), "runs": runs}
    if len(runs) == 2:
        report["accuracy_drop_points"] = round(100 * (runs[0]["test_accuracy"] - runs[1]["test_accuracy"]), 2)
    measurements.publish(args.docs, SECTION, f"{measurements.heading(measurements.command_line())}\n\n"
                         f"{figures_table(report)}", file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
