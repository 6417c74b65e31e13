"""ONNX int8 on an x86 CPU without VNNI, emulated: one file's agreement with Keras on this CPU and
under `qemu-x86_64-static -cpu Haswell` (AVX2, no VNNI), with ONNX Runtime's default session and
with the exact int8 products edgevision asks for (`session.x64quantprecision=1`).

    python tools/onnx_int8_cpus.py RUN/export/model_onnx_int8.onnx [--docs docs/measurements.md]

The Keras model is the export report's source and the photos its held-out evaluation set (the
validation split recorded with the model), each file run through export's own runner. Needs an
x86-64 host with qemu-user-static (apt-get install qemu-user-static); emulation is slow (about
10 minutes for 153 photos at 224 px) and says nothing about speed. Several files may be given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import measurements  # noqa: E402

SECTION = "onnx-int8-cpus"
EMULATED_CPU = "Haswell"
SESSIONS = ("default", "exact")  # ONNX Runtime's default session; edgevision's (exact int8 products)


def child(model: Path, images: Path, session: str, scores: Path) -> None:
    """Run `model` on the saved images with one kind of session (this process may be emulated)."""
    import numpy as np

    from edgevision.export import runner
    from edgevision.metadata import read_sidecar
    from edgevision.runtime import backends

    if session == "default":
        backends.EXACT_INT8_PRODUCTS.clear()
    np.save(scores, runner.run(model, np.load(images), read_sidecar(model), threads=1)[0])


def keras_reference(model_file: Path):
    """(uint8 images, labels, Keras scores) of the export's evaluation set."""
    from edgevision.export import calibration, parity, source

    report = json.loads((model_file.parent / "export_report.json").read_text())
    keras_path = Path(report["source"])
    model = source.load_keras_model(keras_path)
    info = source.describe_source(keras_path, model)
    evaluation = calibration.evaluation_set(info, keras_path)
    return evaluation, parity.keras_scores(model, evaluation.images, info)


def measure(model_file: Path, work: Path) -> list[dict]:
    import numpy as np

    from edgevision.export import parity

    evaluation, reference = keras_reference(model_file)
    images = work / "images.npy"
    np.save(images, evaluation.images)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {(cpu, session): [*(["qemu-x86_64-static", "-cpu", EMULATED_CPU] if cpu != "native" else []),
                             sys.executable, __file__, "--child", str(model_file), str(images), session,
                             str(work / f"{cpu}_{session}.npy")]
            for cpu in ("native", EMULATED_CPU) for session in SESSIONS}
    started = {key: subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) for key, command in runs.items()}
    rows = []
    for (cpu, session), process in started.items():
        if process.wait() != 0:
            sys.exit(f"onnx_int8_cpus: {' '.join(runs[cpu, session])} failed (exit {process.returncode})")
        scores = np.load(work / f"{cpu}_{session}.npy")
        found = parity.compare(reference, scores, evaluation.labels)
        rows.append({"file": str(model_file), "cpu": cpu, "session": session, "images": len(scores),
                     "agreement": found["top1_agreement"], "accuracy_drop": found["accuracy_drop"],
                     "disagreements": found["disagreements"], "near_ties": found["near_ties"], "scores": scores})
    exact = next(r["scores"] for r in rows if r["cpu"] == "native" and r["session"] == "exact")
    for row in rows:
        row["max_diff_from_native"] = float(np.abs(row.pop("scores") - exact).max())
    return rows


def markdown(rows: list[dict], command: str, load: tuple[float, float]) -> str:
    table = measurements.table(
        ["file", "CPU", "session", "agreement with Keras", "accuracy drop", "changed (near-ties)", "max diff from native"],
        [[Path(r["file"]).parent.parent.name + "/" + Path(r["file"]).name,
          "this CPU" if r["cpu"] == "native" else f"qemu -cpu {r['cpu']}",
          "ONNX Runtime default" if r["session"] == "default" else "edgevision (x64quantprecision=1)",
          f"{100 * r['agreement']:.2f}%", f"{100 * r['accuracy_drop']:.1f} pt",
          f"{r['disagreements']} ({r['near_ties']})", f"{r['max_diff_from_native']:.3g}"] for r in rows])
    return f"{measurements.heading(command, *load)}\n\n{table}\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="model_onnx_int8.onnx files written by edgevision export")
    parser.add_argument("--out", type=Path, help="also write the rows as JSON here")
    measurements.add_docs_option(parser)
    args = parser.parse_args(argv)
    if shutil.which("qemu-x86_64-static") is None:
        sys.exit("onnx_int8_cpus: qemu-x86_64-static not found: apt-get install qemu-user-static")
    if args.docs:
        measurements.require(args.docs, SECTION)
    load_before = round(os.getloadavg()[0], 1)
    rows = []
    for model_file in args.files:
        with tempfile.TemporaryDirectory() as work:
            rows += measure(model_file, Path(work))
    text = markdown(rows, measurements.command_line(), (load_before, round(os.getloadavg()[0], 1)))
    print(text)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    if args.docs:
        measurements.replace_section(args.docs, SECTION, text)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*map(Path, sys.argv[2:4]), sys.argv[4], Path(sys.argv[5]))
    else:
        sys.exit(main())
