"""Hundreds of damaged copies of a real model: each one is refused with a UserError or runs; none crashes.

Loads run in child processes, a batch per process, each file's outcome printed as soon as
it is known, so a segfault in native code shows up as a failing file, not a dead pytest.
"""

import subprocess
import sys

import numpy as np
import pytest

MODEL = "mobilenet_v1_0.25_128_quant.tflite"
BATCHES = 4

WORKER = r"""
import sys, numpy as np
from edgevision.errors import UserError
from edgevision.runtime import load
frame = np.full((96, 128, 3), 100, np.uint8)
for path in sys.argv[1:]:
    print("START", path, flush=True)
    try:
        load(path, threads=1).predict(frame)
        outcome = "RAN"
    except UserError as exc:
        outcome = "REFUSED " + str(exc).replace("\n", " ")[:300]
    except Exception as exc:
        outcome = "OTHER " + type(exc).__name__ + ": " + str(exc).replace("\n", " ")[:300]
    print("DONE", path, outcome, flush=True)
"""


def damaged_copies(src: bytes, folder, count=240, seed=7):
    """Truncations, byte flips, overwritten offsets (mostly where the flatbuffer tables live), junk."""
    rng = np.random.default_rng(seed)
    n = len(src)
    paths = []
    for i in range(count):
        data = bytearray(src)
        kind = i % 6
        if kind == 0:  # truncated anywhere, often very short
            data = data[: int(rng.integers(0, 64) if i % 12 == 0 else rng.integers(64, n))]
        elif kind in (1, 2):  # a few random bytes in the head or the table region at the end
            for _ in range(int(rng.integers(1, 12))):
                pos = int(rng.integers(0, 1024) if rng.random() < 0.4 else rng.integers(int(n * 0.9), n))
                data[pos] = int(rng.integers(0, 256))
        elif kind == 3:  # an aligned 32-bit word (offset, length, index) set to an extreme value
            for _ in range(int(rng.integers(1, 4))):
                pos = 4 * int(rng.integers(0, 256) if rng.random() < 0.3 else rng.integers(int(n * 0.9) // 4, n // 4))
                value = int(rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000, n, n - 4, int(rng.integers(0, 2**32))]))
                data[pos:pos + 4] = value.to_bytes(4, "little")
        elif kind == 4:  # a zeroed or shuffled chunk
            start = int(rng.integers(0, n - 64))
            length = int(rng.integers(4, 4096))
            chunk = np.frombuffer(bytes(data[start:start + length]), np.uint8).copy()
            rng.shuffle(chunk) if i % 2 else chunk.fill(0)
            data[start:start + len(chunk)] = chunk.tobytes()
        else:  # random bytes behind a valid-looking header, or none at all
            junk = rng.integers(0, 256, int(rng.integers(8, 20000)), dtype=np.uint8).tobytes()
            data = bytearray(src[:8] + junk if i % 2 else junk)
        path = folder / f"damaged_{i:03d}.tflite"
        path.write_bytes(bytes(data))
        paths.append(path)
    return paths


@pytest.mark.slow
def test_damaged_models_are_refused_or_run_never_crash(reference, tmp_path):
    paths = damaged_copies((reference / MODEL).read_bytes(), tmp_path)
    assert len(paths) >= 200
    outcomes = {}
    for b in range(BATCHES):
        batch = [str(p) for p in paths[b::BATCHES]]
        proc = subprocess.run([sys.executable, "-c", WORKER, *batch], capture_output=True, text=True, timeout=600)
        started = [line.split(" ", 2)[1] for line in proc.stdout.splitlines() if line.startswith("START")]
        for line in proc.stdout.splitlines():
            if line.startswith("DONE"):
                _, path, outcome = line.split(" ", 2)
                outcomes[path] = outcome
        if proc.returncode != 0:
            crashed = [p for p in started if p not in outcomes]
            pytest.fail(f"the process died (exit {proc.returncode}) loading {crashed}: {proc.stderr[-500:]}")
    assert len(outcomes) == len(paths)
    others = {p: o for p, o in outcomes.items() if not o.startswith(("RAN", "REFUSED"))}
    assert not others, others
    refused = [o for o in outcomes.values() if o.startswith("REFUSED")]
    assert len(refused) > len(paths) // 2  # most damage is caught, not silently run
    assert all(MODEL not in o and "damaged_" in o for o in refused)  # each message names the file


def test_a_truncated_model_is_refused_before_the_interpreter(reference, tmp_path):
    from edgevision.errors import UserError
    from edgevision.runtime.modelfile import read_model_file

    src = (reference / MODEL).read_bytes()
    for cut in (7, 100, len(src) // 2, 490_000):  # the flatbuffer ends at ~504 kB; a label zip follows
        path = tmp_path / f"cut_{cut}.tflite"
        path.write_bytes(src[:cut])
        with pytest.raises(UserError, match=rf"cut_{cut}\.tflite.*(truncated|neither)"):
            read_model_file(path)


@pytest.mark.slow
def test_damaged_onnx_models_are_refused_or_run_never_crash(tmp_path):
    pytest.importorskip("onnx")
    from tests.runtime.tiny_models import colour_classifier_onnx

    src = colour_classifier_onnx(tmp_path / "src.onnx").read_bytes()
    rng = np.random.default_rng(1)
    paths = []
    for i in range(120):
        data = bytearray(src)
        if i % 3 == 0:
            data = data[: int(rng.integers(1, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 8))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        path = tmp_path / f"damaged_{i:03d}.onnx"
        path.write_bytes(bytes(data))
        paths.append(str(path))
    proc = subprocess.run([sys.executable, "-c", WORKER, *paths], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-500:]
    outcomes = [line.split(" ", 2)[2] for line in proc.stdout.splitlines() if line.startswith("DONE")]
    assert len(outcomes) == len(paths)
    assert all(o.startswith(("RAN", "REFUSED")) for o in outcomes), [o for o in outcomes if o.startswith("OTHER")]
    assert sum(o.startswith("REFUSED") for o in outcomes) > len(paths) // 2
