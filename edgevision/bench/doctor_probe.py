"""Run the tiny shipped model through one runtime; doctor starts this in a subprocess.

    python -m edgevision.bench.doctor_probe ai_edge_litert|tflite_runtime|onnxruntime|cv2

Prints one JSON line {"ok", "max_error", "error"} and exits 0 when the answer is right, 1 when
it is wrong or the runtime raised. A crash (a segfault in a native library, an ABI mismatch that
aborts) kills only this process; doctor reads its exit status and stderr.
"""

from __future__ import annotations

import json
import sys
from importlib import resources

MODEL_DIR = resources.files("edgevision.bench") / "doctor_model"
# The answer is computed in float64; the runtimes compute in float32 (products of 16 and then 8 terms
# of magnitude <= ~2, so rounding stays below 16 * 2 * 2**-24 * |sums| ~ 1e-5). A runtime that
# answers wrong is off by the size of a weight (~0.1 or more), so 1e-3 separates the two.
TOLERANCE = 1e-3


def expected():
    import numpy as np

    spec = json.loads((MODEL_DIR / "expected.json").read_text())
    x = np.asarray(spec["input"], dtype=np.float32).reshape(spec["input_shape"])
    return x, np.asarray(spec["output"], dtype=np.float64)


def run_tflite(module: str, x):
    interpreter_class = __import__(f"{module}.interpreter", fromlist=["Interpreter"]).Interpreter
    interpreter = interpreter_class(model_content=(MODEL_DIR / "tiny.tflite").read_bytes(), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def run_onnx(x):
    import onnxruntime as ort

    from edgevision.runtime.backends import onnx_session_options

    session = ort.InferenceSession((MODEL_DIR / "tiny.onnx").read_bytes(), sess_options=onnx_session_options(1),
                                   providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def run_opencv():
    """An OpenCV resize of a numpy array: shows cv2 and numpy agree on their ABI."""
    import cv2
    import numpy as np

    spec = json.loads((MODEL_DIR / "expected.json").read_text())
    flat = np.asarray(spec["input"], dtype=np.float32).reshape(4, 4)
    resized = cv2.resize(flat, (2, 2), interpolation=cv2.INTER_AREA)  # each output = mean of a 2x2 block
    want = flat.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    return resized, want


def probe(module: str) -> dict:
    import numpy as np

    if module == "cv2":
        got, want = run_opencv()
    else:
        x, want = expected()
        got = run_onnx(x) if module == "onnxruntime" else run_tflite(module, x)
    error = float(np.max(np.abs(np.asarray(got, dtype=np.float64).ravel() - np.asarray(want).ravel())))
    ok = error <= TOLERANCE
    return {"ok": ok, "max_error": error,
            "error": None if ok else f"wrong answer on the test model (off by {error:.3g})"}


def main(argv=None) -> int:
    module = (argv or sys.argv[1:])[0]
    try:
        result = probe(module)
    except Exception as exc:  # the runtime's own exception types: report, do not crash
        text = str(exc).strip()
        result = {"ok": False, "max_error": None,
                  "error": f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip()}
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
