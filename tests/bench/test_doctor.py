import json
import sys
from types import SimpleNamespace

import pytest

from edgevision.bench import device, doctor
from edgevision.commands import doctor as doctor_command

RUNTIME_MODULES = {
    "ai-edge-litert": ("ai_edge_litert", "ai_edge_litert.interpreter"),
    "tflite-runtime": ("tflite_runtime", "tflite_runtime.interpreter"),
    "onnxruntime": ("onnxruntime",),
    "opencv": ("cv2",),
}


def hide(monkeypatch, *names):
    """Make runtimes un-importable and un-installed, as on a machine that never had them."""
    hidden = set()
    for name in names:
        for module in RUNTIME_MODULES.get(name, ()):
            monkeypatch.setitem(sys.modules, module, None)  # `import x` now raises ImportError
        hidden.update(device.RUNTIME_DISTRIBUTIONS[RUNTIME_MODULES.get(name, (name,))[0]])
    real = device.distribution_version
    monkeypatch.setattr(device, "distribution_version",
                        lambda *dists: None if set(dists) & hidden else real(*dists))


def test_doctor_json_describes_platform_and_runtimes(cli):
    result = cli("doctor", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert {"board", "os", "architecture", "python", "python_bits"} <= set(report["platform"])
    names = [r["name"] for r in report["runtimes"]]
    assert names[:4] == ["ai-edge-litert", "tflite-runtime", "onnxruntime", "opencv"]
    onnx = next(r for r in report["runtimes"] if r["name"] == "onnxruntime")
    assert onnx["available"] and onnx["version"]
    assert {"present", "devices"} <= set(report["camera"]) and "present" in report["display"]


def test_doctor_text_report_exits_0(cli):
    result = cli("doctor")
    assert result.returncode == 0, result.stderr
    assert "runtimes" in result.stdout and result.stdout.rstrip().splitlines()[-1].startswith("ready")


def test_hidden_runtime_is_reported_with_its_install_command(monkeypatch):
    hide(monkeypatch, "onnxruntime")
    report = doctor.diagnose()
    onnx = next(r for r in report["runtimes"] if r["name"] == "onnxruntime")
    assert not onnx["available"] and "onnxruntime" in onnx["error"]
    assert onnx["install"] == "python -m pip install onnxruntime"
    assert "python -m pip install onnxruntime" in doctor.format_report(report)
    assert report["ok"]  # ai-edge-litert still works


def test_installed_but_broken_runtime_is_told_to_reinstall(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails, metadata still says installed
    onnx = next(r for r in doctor.diagnose()["runtimes"] if r["name"] == "onnxruntime")
    assert onnx["install"] == "python -m pip install --force-reinstall onnxruntime"


def test_no_runtime_means_not_ready_and_exit_3(monkeypatch, capsys):
    hide(monkeypatch, "ai-edge-litert", "tflite-runtime", "onnxruntime", "tensorflow")
    code = doctor_command.run(SimpleNamespace(json=True))
    report = json.loads(capsys.readouterr().out)
    assert code == 3 and report["ok"] is False and report["working_runtimes"] == []
    if doctor.litert_wheel_exists(doctor.platform_facts()):
        assert "python -m pip install ai-edge-litert" in report["fixes"]


PI_32BIT = {"system": "linux", "architecture": "armv7l", "python_bits": 32, "glibc": (2, 36), "raspberry_pi": True}


@pytest.mark.parametrize(
    "facts, command, words",
    [
        ({**PI_32BIT, "architecture": "aarch64", "python_bits": 64, "python": (3, 11)},
         "python -m pip install ai-edge-litert", "LiteRT"),
        ({**PI_32BIT, "python": (3, 9)}, "python -m pip install tflite-runtime", "no 32-bit ARM"),
        # 32-bit Bookworm: tflite-runtime 2.14 has cp311 manylinux_2_34 armv7l wheels (glibc 2.36 here)
        ({**PI_32BIT, "python": (3, 11)}, "python -m pip install tflite-runtime", "python3-numpy"),
        ({**PI_32BIT, "python": (3, 11), "glibc": (2, 31)}, None, "64-bit Raspberry Pi OS"),
        ({**PI_32BIT, "python": (3, 12)}, None, "64-bit Raspberry Pi OS"),
        ({**PI_32BIT, "architecture": "armv6l", "python": (3, 11)}, None, "64-bit Raspberry Pi OS"),
        ({"system": "darwin", "architecture": "x86_64", "python_bits": 64, "glibc": None,
          "raspberry_pi": False, "python": (3, 12)}, "python -m pip install tensorflow", "Intel Macs"),
    ],
)
def test_tflite_advice_names_a_wheel_that_exists_for_the_platform(facts, command, words):
    got_command, note = doctor.tflite_install_advice(facts)
    assert got_command == command and words in note


def test_no_onnxruntime_wheel_on_32bit_arm():
    command, note = doctor.onnx_install_advice({**PI_32BIT, "python": (3, 11)})
    assert command is None and "no onnxruntime wheel" in note


def test_no_opencv_wheel_on_32bit_arm_so_the_os_package_is_named():
    command, note = doctor.opencv_install_advice({**PI_32BIT, "python": (3, 11)})
    assert command == "sudo apt install python3-opencv" and "--system-site-packages" in note


def test_every_working_runtime_ran_the_shipped_test_model(cli):
    report = json.loads(cli("doctor", "--json").stdout)
    rows = {r["name"]: r for r in report["runtimes"]}
    for name in ("ai-edge-litert", "onnxruntime", "opencv"):  # all installed with the package here
        assert rows[name]["runs"] is True, rows[name]
    assert report["working_runtimes"][:2] == ["ai-edge-litert", "onnxruntime"]


def test_doctor_model_ships_a_few_kilobytes():
    files = {f.name: f for f in doctor.probe_model_dir().iterdir()}
    assert {"tiny.tflite", "tiny.onnx", "expected.json"} <= set(files)
    assert all(f.stat().st_size < 8192 for f in files.values())


def test_missing_opencv_means_not_ready(monkeypatch, capsys):
    hide(monkeypatch, "opencv")
    code = doctor_command.run(SimpleNamespace(json=False))
    text = capsys.readouterr().out
    assert code == 3 and "OpenCV is missing" in text.splitlines()[-1]
    assert "install: python -m pip install opencv-python-headless" in text


def fake_tflite_runtime(root, interpreter_body):
    """A `tflite_runtime` package whose Interpreter behaves like a broken wheel does."""
    package = root / "tflite_runtime"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "interpreter.py").write_text(
        "import os, signal, sys\n"
        "class Interpreter:\n"
        "    def __init__(self, model_content=None, num_threads=None):\n"
        f"        {interpreter_body}\n")
    return root


def diagnose_with(monkeypatch, tmp_path, body):
    root = fake_tflite_runtime(tmp_path, body)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", str(root))  # the probe subprocess finds it too
    hide(monkeypatch, "ai-edge-litert")
    report = doctor.diagnose()
    return report, next(r for r in report["runtimes"] if r["name"] == "tflite-runtime")


def test_a_runtime_that_crashes_on_the_test_model_is_broken_not_ok(monkeypatch, tmp_path):
    report, row = diagnose_with(monkeypatch, tmp_path, "os.kill(os.getpid(), signal.SIGSEGV)")
    assert row["available"] and row["runs"] is False
    assert "crashed (SIGSEGV)" in row["error"]
    assert row["install"] == "python -m pip install --force-reinstall tflite-runtime"
    assert "broken" in doctor.format_report(report)
    assert "tflite-runtime" not in report["working_runtimes"] and report["ok"]  # onnxruntime still runs


def test_a_numpy_abi_mismatch_names_the_fix(monkeypatch, tmp_path):
    # What tflite-runtime 2.14 (built against NumPy 1.x) prints and raises beside NumPy 2.
    body = ("sys.stderr.write('A module that was compiled using NumPy 1.x cannot be run in NumPy 2.4.0\\n'); "
            "raise AttributeError('_ARRAY_API not found')")
    _, row = diagnose_with(monkeypatch, tmp_path, body)
    assert row["runs"] is False and "built against NumPy 1.x" in row["note"]
    facts = doctor.platform_facts()
    if doctor.litert_wheel_exists(facts):
        assert row["install"] == "python -m pip install ai-edge-litert"
    else:
        assert "numpy" in row["install"]


def test_predict_without_opencv_names_the_package_and_the_command(reference):
    """A machine without cv2 (32-bit Pi OS before `apt install python3-opencv`): one line, exit 2."""
    import os
    import subprocess

    from tests.conftest import ROOT

    code = ("import sys; sys.modules['cv2'] = None; from edgevision.cli import main; "
            f"sys.exit(main(['predict', {str(reference / 'mobilenet_v2_1.0_224_quant.tflite')!r}, "
            f"{str(reference / 'cat.bmp')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("edgevision predict: error: this needs OpenCV (cv2)")
    assert "python -m pip install opencv-python-headless" in line and "internal error" not in result.stderr


def test_no_matplotlib_wheel_on_32bit_arm_so_the_os_package_is_named():
    command, note = doctor.matplotlib_install_advice({**PI_32BIT, "python": (3, 11)})
    assert command == "sudo apt install python3-matplotlib" and "--system-site-packages" in note
    assert doctor.matplotlib_install_advice({**PI_32BIT, "architecture": "aarch64", "python_bits": 64})[0] == \
        "python -m pip install 'edgevision[bench]'"


def test_onnx_model_without_onnxruntime_names_the_command_for_this_platform(tmp_path):
    import os
    import subprocess

    import cv2
    import numpy as np

    from tests.bench.conftest import write_constant_onnx
    from tests.conftest import ROOT

    model = tmp_path / "constant.onnx"
    write_constant_onnx(model, ["a", "b"], answer=1)
    image = tmp_path / "grey.png"
    cv2.imwrite(str(image), np.full((16, 16, 3), 128, np.uint8))
    code = ("import sys; sys.modules['onnxruntime'] = None; from edgevision.cli import main; "
            f"sys.exit(main(['predict', {str(model)!r}, {str(image)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    command, _ = doctor.onnx_install_advice(doctor.platform_facts())
    assert line.startswith("edgevision predict: error: this needs ONNX Runtime") and (command or "no onnxruntime wheel") in line
