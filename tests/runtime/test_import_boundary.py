"""The runtime must run on a Pi without TensorFlow: prove no module of it imports TF or Keras."""

import json
import subprocess
import sys

FORBIDDEN = ("tensorflow", "keras", "tf_keras")


def _modules_after(code: str) -> list[str]:
    script = code + (
        "\nimport sys, json\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_every_runtime_module_loads_neither_tensorflow_nor_keras():
    code = (
        "import importlib, pkgutil, edgevision.runtime as rt\n"
        "for m in pkgutil.iter_modules(rt.__path__):\n"
        "    importlib.import_module('edgevision.runtime.' + m.name)\n"
    )
    assert _modules_after(code) == []


def test_loading_and_running_a_tflite_model_loads_neither_tensorflow_nor_keras(reference):
    code = (
        "import numpy as np\n"
        "from edgevision.runtime import load\n"
        f"model = load({str(reference / 'mobilenet_v1_0.25_128_quant.tflite')!r}, threads=1)\n"
        "model.predict(np.zeros((100, 150, 3), np.uint8))\n"
    )
    assert _modules_after(code) == []
