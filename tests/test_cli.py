import json
import subprocess
import sys
import time

from edgevision import atomic
from edgevision.metadata import ModelInfo, read_sidecar, write_sidecar


def test_help_lists_commands_and_exits_0(cli):
    result = cli("--help")
    assert result.returncode == 0
    assert "usage: edgevision" in result.stdout


def test_help_is_fast_because_heavy_imports_are_lazy(cli):
    # Median of three fresh processes, generous bound: the point is "no TensorFlow import".
    times = []
    for _ in range(3):
        start = time.perf_counter()
        assert cli("--help").returncode == 0
        times.append(time.perf_counter() - start)
    assert sorted(times)[1] < 1.0, times


def test_help_does_not_import_tensorflow():
    # numpy and cv2 too: `doctor` must start where they are missing or broken, to say so.
    code = (
        "import sys; from edgevision.cli import build_parser; build_parser();"
        "print(sorted(m for m in ('tensorflow', 'keras', 'onnx', 'cv2', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_command_exits_2(cli):
    result = cli("fly")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_sidecar_round_trip_and_bad_version(tmp_path):
    model = tmp_path / "model.tflite"
    info = ModelInfo(task="classify", input_size=(96, 96), labels=["a", "b"], architecture="mobilenet_v2")
    write_sidecar(model, info)
    assert read_sidecar(model) == info
    (tmp_path / "model.json").write_text(json.dumps({**info.to_dict(), "format_version": 99}))
    try:
        read_sidecar(model)
    except ValueError as exc:
        assert "format_version" in str(exc) and "model.json" in str(exc)
    else:
        raise AssertionError("a sidecar of an unknown version was accepted")


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path):
    target = tmp_path / "report.json"
    atomic.write_json(target, {"ok": 1})
    try:
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_atomic_writes_get_the_usual_file_mode(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "labels.txt", "a\n")
    finally:
        os.umask(mask)
    assert (tmp_path / "labels.txt").stat().st_mode & 0o777 == 0o644
