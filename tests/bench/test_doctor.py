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
        ({**PI_32BIT, "python": (3, 11)}, None, "64-bit Raspberry Pi OS"),
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
