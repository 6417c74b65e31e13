"""`train --strategy multiworker` for real: two worker processes on 127.0.0.1 (TF_CONFIG), both tasks (slow).

The chief alone writes the run folder; the other worker trains in step with it in a temporary
folder it removes; the model the chief saved loads and exports.
"""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.test_train_cli import cli_env

TASKS = {
    "classify": ("--model", "mobilenet_v2", "--alpha", "0.35", "--input-size", "32",
                 "--data", "synthetic:shapes:40"),
    "detect": ("--task", "detect", "--model", "ssdlite_mobilenet_v2", "--alpha", "0.35", "--input-size", "96",
               "--data", "synthetic:shapes-det:40"),
}


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_two_workers_train_one_run_folder_written_by_the_chief(task, tmp_path, cli):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    outs = [tmp_path / "chief", tmp_path / "worker1"]
    temp = tmp_path / "tmp"
    temp.mkdir()
    processes = []
    for index, out in enumerate(outs):
        env = cli_env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}),
                      TMPDIR=str(temp), TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "edgevision", "train", *TASKS[task], "--weights", "none", "--epochs", "1",
             "--fine-tune-epochs", "1", "--batch-size", "8", "--strategy", "multiworker", "--out", str(out), "--json"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    try:
        results = [(p, *p.communicate(timeout=900)) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for process, _, stderr in results:
        assert process.returncode == 0, stderr[-3000:]
        assert "multiworker strategy, 2 replicas in sync" in stderr
    summaries = [json.loads(stdout) for _, stdout, _ in results]
    assert summaries[0]["epochs"] == summaries[1]["epochs"] == 2
    chief = outs[0]
    for name in ("model.keras", "model.json", "labels.txt", "history.json", "metrics.json", "training_curves.png"):
        assert (chief / name).is_file(), name
    assert not (chief / ".checkpoint").exists()
    assert not outs[1].exists() and list(temp.iterdir()) == []  # the other worker left nothing behind
    assert "the chief writes the run folder" in results[1][2]
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["task"] == task and metrics["epochs"] == 2

    exported = cli("export", chief / "model.keras", "--out", tmp_path / "export", "--json")
    assert exported.returncode == 0, exported.stderr[-3000:]
    artifact = json.loads(exported.stdout)["artifacts"][0]
    assert artifact["format"] == "tflite" and Path(artifact["path"]).is_file()
