"""`edgevision train --task detect`: bad input exits 2 with one line; a tiny run writes its run folder."""

import json
import re

import pytest

from tests.formats_check import assert_valid


@pytest.mark.parametrize("args, words", [
    (["--model", "mobilenet_v2", "--data", "synthetic:shapes-det"], "ssdlite_mobilenet_v2"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes"], "not a detection dataset"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det:3"], "shapes-det:N"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "MISSING"], "does not exist"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det", "--prune", "1.0"], "outside [0, 1)"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det", "--prune", "0.5", "--time", "5"],
     "give --fine-tune-epochs, not --time"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det", "--prune", "0.5",
      "--fine-tune-epochs", "0"], "--prune happens during fine-tuning"),
    (["--data", "synthetic:shapes-det"], "give --model and --data, e.g. --model ssdlite_mobilenet_v2"),
    (["--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det", "--time", "0"], "--time must be a positive number"),
])
def test_bad_detect_arguments_exit_2_with_one_line(cli, tmp_path, args, words):
    args = [a.replace("MISSING", str(tmp_path / "nowhere")) for a in args]
    result = cli("train", "--task", "detect", "--out", tmp_path / "run", "--weights", "none", *args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and words in lines[0]
    assert not (tmp_path / "run" / "model.keras").exists()


def test_time_limit_is_refused_for_classification(cli, tmp_path):
    result = cli("train", "--model", "mobilenet_v2", "--data", "synthetic:shapes", "--time", "5",
                 "--out", tmp_path / "run")
    assert result.returncode == 2 and "--time is available with --task detect only" in result.stderr
    assert not (tmp_path / "run").exists()


def test_coco_file_that_is_not_json_exits_2(cli, tmp_path):
    (tmp_path / "instances.json").write_text("not json")
    result = cli("train", "--task", "detect", "--model", "ssdlite_mobilenet_v2", "--weights", "none",
                 "--data", tmp_path / "instances.json", "--out", tmp_path / "run")
    assert result.returncode == 2 and "instances.json is not a COCO JSON file" in result.stderr


@pytest.mark.slow
def test_tiny_detect_run_stops_at_the_time_limit_and_writes_the_run_folder(cli, tmp_path):
    out = tmp_path / "run"
    minutes = 1.0  # --fine-tune-epochs 1000 alone would run for hours
    result = cli("train", "--task", "detect", "--model", "ssdlite_mobilenet_v2", "--data", "synthetic:shapes-det:60",
                 "--alpha", "0.35", "--input-size", "96", "--weights", "none", "--epochs", "0",
                 "--fine-tune-epochs", "1000", "--time", str(minutes), "--batch-size", "16", "--out", out, "--json",
                 timeout=1500)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(result.stdout)
    for name in ("model.keras", "model.json", "labels.txt", "history.json", "metrics.json", "training_curves.png"):
        assert (out / name).is_file(), name
    sidecar = assert_valid("sidecar", out / "model.json")
    assert sidecar["task"] == "detect" and sidecar["output_layout"] == "ssd_raw"
    assert sidecar["labels"] == ["circle", "square", "triangle", "star"]
    assert len(sidecar["anchors"]) == 6 * 6 * 3 + (3 * 3 + 2 * 2 + 1 + 1 + 1) * 6
    assert sidecar["box_scales"] == [10.0, 10.0, 5.0, 5.0]
    metrics = assert_valid("metrics", out / "metrics.json")
    assert metrics["task"] == "detect" and 0.0 <= metrics["map50_95"] <= metrics["map50"] <= 1.0
    assert summary["map50"] == metrics["map50"]
    assert "stopped at the --time limit" in result.stderr
    # Keras' "Epoch i/total" line: the total is what the time left allows, never a placeholder
    # (Keras prints no such line while the total is 1: the first epoch of a run from scratch)
    counts = [tuple(map(int, m)) for m in re.findall(r"^Epoch (\d+)/(\d+)$", result.stderr, re.MULTILINE)]
    assert len(counts) >= 2 and all(i <= total < 1000 for i, total in counts), counts
    assert summary["seconds"] < minutes * 60 + 30  # one step and one validation pass may end after the limit
    history = json.loads((out / "history.json").read_text())
    assert set(history["phase"]) == {2} and 3 <= len(history["phase"]) < 1000
    rates = history["learning_rate"]  # cosine decay over the time: from a third of the rate towards 0
    assert rates == sorted(rates, reverse=True) and 1e-3 / 3 >= rates[0] > 4 * rates[-1]


def test_epochs_expected_before_the_deadline_follow_the_measured_speed():
    import time

    from edgevision.train.detect import expected_epochs

    deadline = time.perf_counter() + 105
    # phase 2's first epoch (graph building) is left out: 10 s per epoch, one starting now -> 9 more
    assert expected_epochs(deadline, [(1, 50.0), (2, 30.0), (2, 10.0), (2, 10.0)], phase=2) == 9
    # no phase-2 epoch measured yet (or only its first): the last epoch of phase 1 stands in
    assert expected_epochs(deadline, [(1, 50.0), (1, 20.0)], phase=2) == 4
    assert expected_epochs(deadline, [(1, 20.0), (2, 80.0)], phase=2) == 4
    assert expected_epochs(deadline, [(2, 80.0)], phase=2) == 0  # from scratch: the first epoch it is
    assert expected_epochs(deadline, [], phase=2) == 0
    assert expected_epochs(None, [(2, 10.0), (2, 10.0)], phase=2) == 0


def test_augment_is_refused_for_classification_and_its_choices_are_the_librarys(cli, tmp_path):
    from edgevision.train.detect import augmentation
    from edgevision.train.options import AUGMENTATION

    result = cli("train", "--model", "mobilenet_v2", "--data", "synthetic:shapes", "--augment", "flip",
                 "--out", tmp_path / "run")
    assert result.returncode == 2 and "--augment is available with --task detect only" in result.stderr
    assert not (tmp_path / "run").exists()
    help_text = cli("train", "--help").stdout
    assert "{" + ",".join(AUGMENTATION) + "}" in help_text
    assert [len(augmentation(level, seed=0)) for level in ("none", "flip")] == [0, 1]


@pytest.mark.parametrize("environment, chief", [
    ({}, True),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}'}, True),
    ({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}'}, False),
    ({"TF_CONFIG": '{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}'},
     False),
    ({"TF_CONFIG": '{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "chief", "index": 0}}'},
     True),
])
def test_only_the_chief_of_a_multiworker_cluster_writes_the_run_folder(environment, chief):
    from edgevision.train.distribute import is_chief

    assert is_chief("multiworker", environment) is chief
    assert is_chief("mirrored", environment) is True


def test_tf_config_that_is_not_json_exits_2_with_one_line(cli, tmp_path):
    import os
    import subprocess
    import sys

    from tests.train.test_train_cli import cli_env

    result = subprocess.run(
        [sys.executable, "-m", "edgevision", "train", "--task", "detect", "--model", "ssdlite_mobilenet_v2",
         "--weights", "none", "--data", "synthetic:shapes-det", "--strategy", "multiworker", "--out",
         str(tmp_path / "run")], env=cli_env(TF_CONFIG="{not json"), capture_output=True, text=True, timeout=300,
        cwd=os.getcwd())
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "TF_CONFIG is not valid JSON" in lines[0], result.stderr
    assert not (tmp_path / "run").exists()
