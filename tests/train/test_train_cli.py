"""`edgevision train` as a user runs it: bad input answers at once; tiny real runs (slow)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.formats_check import assert_valid

TINY = ("--model", "mobilenet_v2", "--alpha", "0.35", "--input-size", "32", "--weights", "none", "--batch-size", "16")


def _one_error_line(result):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgevision train: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--data", "{tmp}/missing"), "does not exist"),
        (("--data", "synthetic:shapes", "--model", "resnet9000"), "unknown model 'resnet9000'"),
        (("--data", "synthetic:shapes", "--prune", "1.0"), "outside [0, 1)"),
        (("--data", "synthetic:shapes", "--prune", "-0.1"), "outside [0, 1)"),
        (("--data", "synthetic:shapes", "--fine-tune-learning-rate", "0"), "--fine-tune-learning-rate must be positive"),
        (("--data", "synthetic:shapes-det", "--task", "detect", "--model", "ssdlite_mobilenet_v2",
          "--fine-tune-learning-rate", "-0.0001"), "--fine-tune-learning-rate must be positive"),
        (("--data", "synthetic:shapes", "--task", "detect"), "choose a detector"),
        (("--data", "synthetic:nothing"), "unknown synthetic dataset"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, tmp_path, args, expected):
    args = [a.format(tmp=tmp_path) for a in args]
    result = cli("train", *TINY, "--out", tmp_path / "run", *args)
    assert expected in _one_error_line(result)
    assert not (tmp_path / "run").exists()


def test_an_occupied_out_folder_is_refused_and_resume_needs_a_checkpoint(cli, tmp_path):
    (tmp_path / "model.keras").write_bytes(b"someone else's model")
    result = cli("train", *TINY, "--data", "synthetic:shapes", "--out", tmp_path)
    assert "holds another run (model.keras): pass --overwrite" in _one_error_line(result)
    assert (tmp_path / "model.keras").read_bytes() == b"someone else's model"
    result = cli("train", "--out", tmp_path / "empty", "--resume")
    assert "nothing to resume" in _one_error_line(result)


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory):
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("pruned") / "run"
    result = run_cli("train", *TINY, "--data", "synthetic:shapes:200", "--epochs", "1", "--fine-tune-epochs", "1",
                     "--prune", "0.5", "--fine-tune-learning-rate", "5e-4", "--out", out)
    return out, result


@pytest.mark.slow
def test_a_tiny_run_writes_every_file_and_the_sidecar(pruned_run, cli):
    out, result = pruned_run
    assert result.returncode == 0, result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()
    assert len(summary) == 1 and "test accuracy" in summary[0] and str(out / "model.keras") in summary[0]
    for name in ("model.keras", "model.json", "labels.txt", "history.json", "metrics.json",
                 "training_curves.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / ".checkpoint").exists()
    assert (out / "labels.txt").read_text().split() == ["circle", "square", "triangle", "star"]
    info = assert_valid("sidecar", out / "model.json")
    assert info["task"] == "classify" and info["architecture"] == "mobilenet_v2" and info["alpha"] == 0.35
    assert info["input_size"] == [32, 32] and info["mean"] == [127.5] * 3 and info["std"] == [127.5] * 3
    assert info["output_layout"] == "probabilities" and info["labels"][0] == "circle"
    assert info["extra"]["data"] == {"source": "synthetic:shapes:200", "seed": 0, "split": [0.8, 0.1, 0.1]}
    metrics = assert_valid("metrics", out / "metrics.json")
    assert metrics["task"] == "classify" and 0 <= metrics["test_accuracy"] <= 1
    assert set(metrics["per_class"]) == {"circle", "square", "triangle", "star"}
    assert {"precision", "recall"} <= set(metrics["per_class"]["star"])
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1, 2] and len(history["val_accuracy"]) == 2
    # The same folder again: refused, the run left as it was.
    again = cli("train", *TINY, "--data", "synthetic:shapes:200", "--out", out)
    assert "holds another run" in _one_error_line(again)


@pytest.mark.slow
def test_prune_half_leaves_half_of_the_prunable_weights_exactly_zero_in_model_keras(pruned_run):
    out, result = pruned_run
    assert result.returncode == 0, result.stderr[-3000:]
    zeros, total, kernels = pruned_zeros(out / "model.keras", 0.5)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pruning"]["global_sparsity"] == pytest.approx(zeros / total, abs=1e-6)
    assert len(metrics["pruning"]["layers"]) == kernels


@pytest.mark.slow
def test_fine_tune_learning_rate_sets_phase_2s_rate(pruned_run):
    out, result = pruned_run
    assert result.returncode == 0, result.stderr[-3000:]
    history = json.loads((out / "history.json").read_text())
    # from scratch (and pruning) phase 2 runs at a constant rate: the one given, not a tenth of 1e-3
    assert history["phase"] == [1, 2] and history["learning_rate"] == pytest.approx([1e-3, 5e-4], rel=1e-6)


def pruned_zeros(model_path, sparsity) -> tuple[int, int, int]:
    """(exact zeros, weights, kernels) over the prunable kernels of a saved model, asserting the
    `sparsity` pruning promises: magnitude_mask zeroes round(sparsity * size) weights of each
    kernel, so the whole may fall short by at most half a weight per kernel."""
    import keras

    from edgevision.train.pruning import prunable_kernels

    kernels = [np.asarray(v.numpy()) for _, v in prunable_kernels(keras.models.load_model(model_path))]
    zeros, total = sum(int((k == 0).sum()) for k in kernels), sum(k.size for k in kernels)
    assert zeros >= sparsity * total - 0.5 * len(kernels), (zeros, total, len(kernels))
    return zeros, total, len(kernels)


def cli_env(**extra):
    """The environment run_cli uses: this tree first on the path, TensorFlow quiet."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def popen_cli(*args):
    return subprocess.Popen([sys.executable, "-m", "edgevision", *map(str, args)], env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ctrl_c_after_the_first_checkpoint(out, *args) -> dict:
    """`edgevision train *args --out out`, Ctrl-C once its first checkpoint is written: asserts exit
    130 with a last line naming --resume, and returns the checkpoint's state.json."""
    process = popen_cli("train", *args, "--out", out)
    state = out / ".checkpoint" / "state.json"
    deadline = time.time() + 600
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), process.communicate()[1][-3000:]
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 130, stderr[-3000:]
    assert "--resume" in stderr.strip().splitlines()[-1]
    return json.loads(state.read_text())


def train_on_two_logical_cpus(out, *args) -> subprocess.CompletedProcess:
    """`edgevision train *args --strategy mirrored --out out` with the CPU split in two logical devices."""
    return subprocess.run([sys.executable, "-c", MIRRORED, "train", *map(str, args), "--strategy", "mirrored",
                           "--out", str(out)], capture_output=True, text=True, env=cli_env(), timeout=900)


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path, cli):
    out = tmp_path / "run"
    saved = ctrl_c_after_the_first_checkpoint(out, *TINY, "--data", "synthetic:shapes:120", "--epochs", "3",
                                              "--fine-tune-epochs", "1")
    done = saved["epochs_done"]
    assert 1 <= done < 4 and not (out / "metrics.json").exists()

    resumed = cli("train", "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 1/3" not in resumed.stderr and f"Epoch {done + 1}/" in resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1, 1, 1, 2]
    assert (out / "metrics.json").is_file() and not (out / ".checkpoint").exists()


MIRRORED = """
import sys, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from edgevision.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_mirrored_strategy_trains_on_two_logical_cpus(tmp_path):
    out = tmp_path / "run"
    result = train_on_two_logical_cpus(out, *TINY, "--data", "synthetic:shapes:120", "--epochs", "1",
                                       "--fine-tune-epochs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replicas" in result.stderr
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()


@pytest.mark.slow
def test_pruned_zeros_survive_tflite_conversion(pruned_run, tmp_path):
    import keras
    import tensorflow as tf

    from edgevision.export.tflite import convert, write_saved_model

    out, result = pruned_run
    assert result.returncode == 0, result.stderr[-3000:]
    model = keras.models.load_model(out / "model.keras")
    flatbuffer = convert(write_saved_model(model, tmp_path / "saved"), quantize="none")
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    weight_ops = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"}
    kernels = [interpreter.get_tensor(op["inputs"][1]) for op in interpreter._get_ops_details()
               if op["op_name"] in weight_ops]
    assert len(kernels) == len(json.loads((out / "metrics.json").read_text())["pruning"]["layers"])
    zeros, total = sum(int((k == 0).sum()) for k in kernels), sum(k.size for k in kernels)
    assert zeros / total >= 0.49
