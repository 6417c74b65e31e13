"""What machine a benchmark ran on: CPU, OS, Python, runtime versions, and on a Raspberry Pi
the board, CPU temperature and throttling (a throttled Pi gives misleading numbers).

Everything is read from files and package metadata, never by importing a runtime, so it is
cheap and safe to call before and after each measurement. A value that cannot be read here
is None, never a guess.
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import platform
import shutil
import struct
import subprocess
import sys
from pathlib import Path

# Distribution names whose versions a result should carry (import name -> distribution names).
RUNTIME_DISTRIBUTIONS = {
    "ai_edge_litert": ("ai-edge-litert",),
    "tflite_runtime": ("tflite-runtime",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino"),
    "cv2": ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless", "opencv-contrib-python"),
    "numpy": ("numpy",),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-aarch64"),
}

THERMAL_ROOT = "/sys/class/thermal"

# `vcgencmd get_throttled` bits (Raspberry Pi firmware documentation).
THROTTLE_BITS = {
    0: "under-voltage",
    1: "arm frequency capped",
    2: "throttled",
    3: "soft temperature limit",
    16: "under-voltage has occurred",
    17: "arm frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}


def _read(path) -> str | None:
    try:
        return Path(path).read_text(errors="replace").strip().strip("\x00").strip()
    except OSError:
        return None


def distribution_version(*names) -> str | None:
    """Installed version of the first of `names` found, without importing it."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def runtime_versions() -> dict:
    """{import name: version or None} for the inference runtimes and their companions."""
    return {module: distribution_version(*dists) for module, dists in RUNTIME_DISTRIBUTIONS.items()}


def board_model() -> str | None:
    """The board name from the device tree, e.g. 'Raspberry Pi 4 Model B Rev 1.4'; None on a PC."""
    return _read("/proc/device-tree/model") or None


def is_raspberry_pi() -> bool:
    return (board_model() or "").startswith("Raspberry Pi")


def os_name() -> str:
    """'Debian GNU/Linux 12 (bookworm)', 'macOS 14.5', 'Windows 11', ..."""
    if sys.platform.startswith("linux"):
        for line in (_read("/etc/os-release") or "").splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]}"
    return platform.platform(terse=True)


def python_bits() -> int:
    """32 or 64: a 64-bit kernel can run a 32-bit userland (32-bit Raspberry Pi OS), which decides the wheels."""
    return struct.calcsize("P") * 8


def architecture() -> str:
    """Machine architecture as the wheels see it: armv7l for a 32-bit Python on an aarch64 kernel."""
    machine = platform.machine()
    if machine in ("aarch64", "arm64") and python_bits() == 32:
        return "armv7l"
    return machine


def cpu_model() -> str | None:
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return platform.processor() or None
    fields = {}
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    # x86: "model name"; ARM kernels: "Model" (Pi), "Hardware", or only the CPU part numbers.
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or None


def cpu_frequency() -> dict:
    """Current and maximum frequency in MHz and the cpufreq governor of CPU 0, where readable."""
    base = "/sys/devices/system/cpu/cpu0/cpufreq"
    cur, top = _read(f"{base}/scaling_cur_freq"), _read(f"{base}/cpuinfo_max_freq")
    freq = {
        "cpu_freq_mhz": round(int(cur) / 1000) if cur and cur.isdigit() else None,
        "cpu_max_freq_mhz": round(int(top) / 1000) if top and top.isdigit() else None,
        "governor": _read(f"{base}/scaling_governor"),
    }
    if freq["cpu_freq_mhz"] is None:  # virtual machines have no cpufreq; /proc/cpuinfo still says
        for line in (_read("/proc/cpuinfo") or "").splitlines():
            if line.startswith("cpu MHz"):
                freq["cpu_freq_mhz"] = round(float(line.split(":", 1)[1]))
                break
    return freq


def memory_total_mb() -> int | None:
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return None


def cpu_temperature_c() -> float | None:
    """CPU temperature from the sysfs thermal zone that describes the CPU (first zone otherwise)."""
    zones = sorted(glob.glob(f"{THERMAL_ROOT}/thermal_zone*"))
    preferred = [z for z in zones if any(k in (_read(f"{z}/type") or "") for k in ("cpu", "soc", "x86_pkg"))]
    for zone in preferred + zones:
        raw = _read(f"{zone}/temp")
        if raw and raw.lstrip("-").isdigit():
            return round(int(raw) / 1000, 1)
    return None


def throttle_state() -> dict | None:
    """`vcgencmd get_throttled` decoded, or None where vcgencmd does not exist (not a Pi)."""
    if not shutil.which("vcgencmd"):
        return None
    try:
        out = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5).stdout
        value = int(out.strip().split("=", 1)[1], 16)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return {"raw": hex(value), "flags": [name for bit, name in THROTTLE_BITS.items() if value >> bit & 1]}


def thermal_snapshot() -> dict:
    """Temperature and throttling now; take one before and one after a run."""
    return {"temperature_c": cpu_temperature_c(), "throttle": throttle_state()}


def throttled_between(before: dict, after: dict) -> bool | None:
    """True when the Pi throttled (or was under-voltage) at either end or in between; None if unknown."""
    states = [s["throttle"] for s in (before, after) if s.get("throttle")]
    if not states:
        return None
    now_bits = ("under-voltage", "arm frequency capped", "throttled", "soft temperature limit")
    if any(flag in state["flags"] for state in states for flag in now_bits):
        return True
    # The "has occurred" bits are sticky since boot: only a change during the run counts.
    return len(states) == 2 and states[0]["raw"] != states[1]["raw"]


def device_info() -> dict:
    """Everything a result needs to say where it was measured."""
    board = board_model()
    cpu = cpu_model()
    arch = architecture()
    return {
        "name": board or f"{cpu or 'unknown CPU'} ({arch})",
        "board": board,
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "architecture": arch,
        "python_bits": python_bits(),
        **cpu_frequency(),
        "memory_mb": memory_total_mb(),
        "os": os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "runtimes": runtime_versions(),
        "raspberry_pi": (board or "").startswith("Raspberry Pi"),
    }
