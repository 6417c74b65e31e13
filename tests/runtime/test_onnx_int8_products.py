"""ONNX int8 answers must not depend on the x86 CPU: edgevision asks ONNX Runtime for exact int8 products."""

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.runtime.tiny_models import int8_pair_sum_onnx

pytest.importorskip("onnxruntime")
ROOT = Path(__file__).resolve().parents[2]
CHANNELS = 16

# Prints [edgevision's answer, a bare ONNX Runtime session's answer] for an input of ones.
PROBE = f"""
import json, sys
import numpy as np
import onnxruntime as ort
from edgevision.runtime.backends import open_backend
from edgevision.runtime.modelfile import read_model_file
x = np.ones((1, {CHANNELS}, 1, 1), np.float32)
ours = open_backend(read_model_file(sys.argv[1]), threads=1).invoke([x])[0]
bare = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"]).run(None, {{"x": x}})[0]
print(json.dumps([ours.ravel().tolist(), bare.ravel().tolist()]))
"""


def run_probe(model, *prefix):
    done = subprocess.run([*prefix, sys.executable, "-c", PROBE, str(model)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    return [np.asarray(v) for v in json.loads(done.stdout.strip().splitlines()[-1])]


def test_int8_products_are_exact_on_this_cpu(tmp_path):
    ours, _ = run_probe(int8_pair_sum_onnx(tmp_path / "pairs.onnx", CHANNELS))
    # Every output is CHANNELS * 127 * 127 integer units, requantized at scale CHANNELS / 127: exactly CHANNELS.
    np.testing.assert_allclose(ours, CHANNELS, rtol=1e-6)


@pytest.mark.slow
@pytest.mark.skipif(platform.machine() != "x86_64", reason="emulates an x86 CPU without VNNI: needs an x86-64 host")
@pytest.mark.skipif(shutil.which("qemu-x86_64-static") is None, reason="needs qemu-user-static (apt-get install qemu-user-static)")
def test_int8_products_are_exact_on_an_x86_cpu_without_vnni(tmp_path):
    ours, bare = run_probe(int8_pair_sum_onnx(tmp_path / "pairs.onnx", CHANNELS), "qemu-x86_64-static", "-cpu", "Haswell")
    if np.allclose(bare, CHANNELS):
        pytest.skip("ONNX Runtime's default kernel did not saturate on the emulated Haswell: nothing to compare")
    np.testing.assert_allclose(ours, CHANNELS, rtol=1e-6)
