"""Device information, including the Raspberry Pi parts (thermal zone, vcgencmd) faked on a PC."""

import os
import stat

import pytest

from edgevision.bench import device


def test_device_info_names_the_machine():
    info = device.device_info()
    assert info["cpu_cores"] >= 1 and info["architecture"] and info["os"] and info["python"]
    assert info["python_bits"] in (32, 64)
    assert info["runtimes"]["numpy"]  # read from package metadata, no import
    assert info["name"]


@pytest.fixture
def fake_vcgencmd(tmp_path, monkeypatch):
    """Put a `vcgencmd` on PATH that answers get_throttled with the value in a file."""
    value = tmp_path / "throttled"
    script = tmp_path / "bin" / "vcgencmd"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "throttled=$(cat {value})"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return value


def test_throttle_flags_are_decoded(fake_vcgencmd):
    fake_vcgencmd.write_text("0x50005")
    state = device.throttle_state()
    assert state["raw"] == "0x50005"
    assert state["flags"] == ["under-voltage", "throttled", "under-voltage has occurred", "throttling has occurred"]


def test_throttling_during_the_run_is_detected_from_sticky_bits(fake_vcgencmd):
    fake_vcgencmd.write_text("0x0")
    before = device.thermal_snapshot()
    fake_vcgencmd.write_text("0x40000")  # throttled since `before`, no longer now
    after = device.thermal_snapshot()
    assert device.throttled_between(before, after) is True
    assert device.throttled_between(after, after) is False  # old sticky bits alone do not count


def test_no_vcgencmd_means_unknown_not_false(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    snapshot = device.thermal_snapshot()
    assert snapshot["throttle"] is None and device.throttled_between(snapshot, snapshot) is None


def test_cpu_temperature_prefers_the_cpu_zone(tmp_path, monkeypatch):
    for zone, kind, millideg in (("thermal_zone0", "gpu-thermal", "71000"), ("thermal_zone1", "cpu-thermal", "58432")):
        (tmp_path / zone).mkdir()
        (tmp_path / zone / "type").write_text(kind + "\n")
        (tmp_path / zone / "temp").write_text(millideg + "\n")
    monkeypatch.setattr(device, "THERMAL_ROOT", str(tmp_path))
    assert device.cpu_temperature_c() == 58.4
