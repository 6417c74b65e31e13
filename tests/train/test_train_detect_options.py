"""`train --task detect` takes the options classification has: --resume, --prune, --strategy (slow, tiny runs)."""

import json
from pathlib import Path

import pytest

from tests.train.test_train_cli import (
    ctrl_c_after_the_first_checkpoint,
    pruned_zeros,
    train_on_two_logical_cpus,
)

TINY_DET = ("--task", "detect", "--model", "ssdlite_mobilenet_v2", "--alpha", "0.35", "--input-size", "96",
            "--weights", "none", "--batch-size", "8")


@pytest.fixture(scope="module")
def pruned_detector(tmp_path_factory):
    from tests.conftest import run_cli

    out = tmp_path_factory.mktemp("pruned_det") / "run"
    result = run_cli("train", *TINY_DET, "--data", "synthetic:shapes-det:40", "--epochs", "1",
                     "--fine-tune-epochs", "1", "--prune", "0.5", "--fine-tune-learning-rate", "5e-4", "--out", out, "--json")
    return out, result


@pytest.mark.slow
def test_prune_half_leaves_half_of_the_detectors_prunable_weights_exactly_zero(pruned_detector):
    out, result = pruned_detector
    assert result.returncode == 0, result.stderr[-3000:]
    zeros, total, _ = pruned_zeros(out / "model.keras", 0.5)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pruning"]["target"] == 0.5
    assert metrics["pruning"]["global_sparsity"] == pytest.approx(zeros / total, abs=1e-6)
    assert json.loads(result.stdout)["global_sparsity"] == metrics["pruning"]["global_sparsity"]
    assert json.loads((out / "model.json").read_text())["extra"]["prune"] == 0.5


@pytest.mark.slow
def test_fine_tune_learning_rate_sets_the_detectors_phase_2_rate(pruned_detector):
    out, result = pruned_detector
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cosine decay from learning rate 0.0005" in result.stderr.split("phase 2: ")[1].splitlines()[0]
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1, 2] and history["learning_rate"][0] == pytest.approx(1e-3, rel=1e-6)
    assert 0 <= history["learning_rate"][1] <= 5e-4  # a third of 1e-3 without the option


@pytest.mark.slow
def test_a_pruned_detector_exports_to_int8(pruned_detector, cli, tmp_path):
    out, result = pruned_detector
    assert result.returncode == 0, result.stderr[-3000:]
    exported = cli("export", out / "model.keras", "--out", tmp_path / "export", "--quantize", "int8",
                   "--calib-count", "16", "--max-map-drop", "1", "--json")  # 2 epochs: the plumbing, not quality
    assert exported.returncode == 0, exported.stderr[-3000:]
    artifact = json.loads(exported.stdout)["artifacts"][0]
    assert artifact["quantization"] == "int8" and Path(artifact["path"]).is_file()


@pytest.mark.slow
def test_ctrl_c_saves_a_detection_checkpoint_and_resume_finishes_the_run(tmp_path, cli):
    out = tmp_path / "run"
    saved = ctrl_c_after_the_first_checkpoint(out, *TINY_DET, "--data", "synthetic:shapes-det:40", "--epochs", "2",
                                              "--fine-tune-epochs", "1")
    done = saved["epochs_done"]
    assert saved["task"] == "detect" and 1 <= done < 3 and not (out / "metrics.json").exists()

    resumed = cli("train", "--out", out, "--resume", "--json")  # the task comes from the checkpoint
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Epoch 1/2" not in resumed.stderr and f"Epoch {done + 1}/" in resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1, 1, 2] and len(history["val_loss"]) == 3
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 3 == json.loads(resumed.stdout)["epochs"]
    assert json.loads((out / "model.json").read_text())["task"] == "detect"
    assert not (out / ".checkpoint").exists()


@pytest.mark.slow
def test_mirrored_strategy_trains_a_detector_on_two_logical_cpus(tmp_path):
    out = tmp_path / "run"
    result = train_on_two_logical_cpus(out, *TINY_DET, "--data", "synthetic:shapes-det:40", "--epochs", "1",
                                       "--fine-tune-epochs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "2 replicas" in result.stderr
    assert (out / "model.keras").is_file() and json.loads((out / "metrics.json").read_text())["epochs"] == 2
