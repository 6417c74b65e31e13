"""`edgevision doctor`: which runtimes work on this machine and the exact command for what is missing.

Every runtime that imports is then made to run a tiny model shipped in the package
(`doctor_model/`), each in its own subprocess (`doctor_probe`), so a runtime that imports but
cannot compute (a wheel built against NumPy 1.x beside NumPy 2, a native crash) is reported as
broken, with the command that fixes it, instead of as ok.

The wheel facts below are what PyPI ships (checked with `pip download --platform`):
ai-edge-litert has manylinux_2_27 x86_64/aarch64, macOS arm64 and Windows amd64 wheels and
none for 32-bit ARM; tflite-runtime 2.14 has manylinux_2_34 armv7l wheels for Python 3.9-3.11
(built against NumPy 1.x), 2.13 manylinux2014 ones up to Python 3.10; onnxruntime, numpy and
opencv-python-headless have no 32-bit ARM wheels (the OS packages python3-numpy and
python3-opencv stand in). TensorFlow is never imported here (it takes seconds): its presence is
read from the package metadata.
"""

from __future__ import annotations

import glob
import importlib
import json
import os
import platform
import signal
import subprocess
import sys

from edgevision.bench import device

PIP = "python -m pip install"
GLIBC_FOR_LITERT = (2, 27)
GLIBC_FOR_TFLITE_RUNTIME_214 = (2, 34)  # its armv7l wheels are manylinux_2_34
PROBE_SECONDS = 180  # an emulated ARM machine takes tens of seconds to import a runtime
OS_NUMPY = "/usr/lib/python3/dist-packages/numpy"  # Debian / Raspberry Pi OS python3-numpy


def platform_facts() -> dict:
    libc_name, libc_version = platform.libc_ver()
    glibc = tuple(int(p) for p in libc_version.split(".")[:2]) if libc_name == "glibc" and libc_version else None
    return {
        "system": sys.platform,
        "architecture": device.architecture(),
        "python": sys.version_info[:2],
        "python_bits": device.python_bits(),
        "glibc": glibc,
        "raspberry_pi": device.is_raspberry_pi(),
    }


def import_version(module: str, distributions: tuple) -> tuple[str | None, str | None]:
    """(version, None) when `module` imports here, (None, one-line reason) when it does not."""
    try:
        imported = importlib.import_module(module)
    except Exception as exc:  # ImportError, but also a broken wheel raising anything at import
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip()
    top = sys.modules.get(module.split(".")[0], imported)
    return device.distribution_version(*distributions) or getattr(top, "__version__", "unknown"), None


def litert_wheel_exists(p: dict) -> bool:
    if p["python_bits"] != 64:
        return False
    if p["system"].startswith("linux"):
        return p["architecture"] in ("x86_64", "aarch64") and (p["glibc"] is None or p["glibc"] >= GLIBC_FOR_LITERT)
    if p["system"] == "darwin":
        return p["architecture"] == "arm64"
    return p["system"] == "win32" and p["architecture"] in ("AMD64", "x86_64")


def onnxruntime_wheel_exists(p: dict) -> bool:
    return p["python_bits"] == 64 and p["architecture"] in ("x86_64", "aarch64", "arm64", "AMD64")


def tflite_install_advice(p: dict) -> tuple[str | None, str]:
    """(command, explanation) for getting a TFLite interpreter on this platform."""
    if litert_wheel_exists(p):
        return f"{PIP} ai-edge-litert", "LiteRT, the TFLite interpreter edgevision prefers"
    arch, py = p["architecture"], "{}.{}".format(*p["python"])
    if p["system"].startswith("linux") and arch.startswith("arm") and p["python_bits"] == 32:
        glibc_ok = p["glibc"] is None or p["glibc"] >= GLIBC_FOR_TFLITE_RUNTIME_214
        if arch != "armv6l" and (p["python"] <= (3, 10) or (p["python"] <= (3, 11) and glibc_ok)):
            return (f"{PIP} tflite-runtime",
                    f"ai-edge-litert has no 32-bit ARM ({arch}) wheel; tflite-runtime has one for Python {py} "
                    "(it needs NumPy 1.x: on Raspberry Pi OS `sudo apt install python3-numpy` and a venv made "
                    "with --system-site-packages)")
        return (None, f"no TFLite wheel on PyPI for 32-bit ARM ({arch}) with Python {py}: ai-edge-litert "
                      "ships 64-bit wheels only and tflite-runtime's 32-bit ARM wheels are armv7l for Python "
                      f"<= 3.11. Install the 64-bit Raspberry Pi OS, then `{PIP} ai-edge-litert`")
    if p["system"].startswith("linux") and p["glibc"] and p["glibc"] < GLIBC_FOR_LITERT:
        return (None, "ai-edge-litert wheels need glibc >= 2.27 (this system has {}.{}): upgrade the OS, or use "
                      "ONNX models with onnxruntime".format(*p["glibc"]))
    if p["system"] == "darwin":
        return (f"{PIP} tensorflow", "ai-edge-litert has no wheel for Intel Macs; the runtime falls back to "
                                     "TensorFlow's tf.lite (or use ONNX models with onnxruntime)")
    return (f"{PIP} tensorflow", f"no ai-edge-litert wheel for {p['system']} {arch}; the runtime falls back to "
                                 "TensorFlow's tf.lite (or use ONNX models with onnxruntime)")


def onnx_install_advice(p: dict) -> tuple[str | None, str]:
    if onnxruntime_wheel_exists(p):
        return f"{PIP} onnxruntime", "needed for .onnx models only"
    return None, (f"no onnxruntime wheel on PyPI for {p['architecture']} ({p['python_bits']}-bit Python): "
                  "use .tflite models here, or a 64-bit OS")


def opencv_install_advice(p: dict) -> tuple[str | None, str]:
    if p["system"].startswith("linux") and p["python_bits"] == 32:
        return ("sudo apt install python3-opencv",
                "no opencv-python-headless wheel for 32-bit ARM on PyPI: use the OS's OpenCV, from a venv made "
                "with `python3 -m venv --system-site-packages`")
    return f"{PIP} opencv-python-headless", "images, video files, cameras and pre-processing need it"


def matplotlib_install_advice(p: dict) -> tuple[str, str]:
    if p["system"].startswith("linux") and p["python_bits"] == 32:
        return ("sudo apt install python3-matplotlib",
                "no matplotlib wheel for 32-bit ARM on PyPI: a venv made with --system-site-packages sees the OS's")
    return f"{PIP} 'edgevision[bench]'", "or: python -m pip install matplotlib"


def check_runtimes(p: dict) -> list[dict]:
    """One row per runtime: name, purpose, available (imports), runs (answers the test model right;
    None when not tried), version, error, install, note."""
    rows = []
    specs = [
        ("ai-edge-litert", "ai_edge_litert.interpreter", device.RUNTIME_DISTRIBUTIONS["ai_edge_litert"], "TFLite models"),
        ("tflite-runtime", "tflite_runtime.interpreter", device.RUNTIME_DISTRIBUTIONS["tflite_runtime"], "TFLite models (fallback)"),
        ("onnxruntime", "onnxruntime", device.RUNTIME_DISTRIBUTIONS["onnxruntime"], "ONNX models"),
        ("opencv", "cv2", device.RUNTIME_DISTRIBUTIONS["cv2"], "images, video, camera"),
    ]
    for name, module, dists, purpose in specs:
        version, error = import_version(module, dists)
        rows.append({"name": name, "module": module, "purpose": purpose, "available": version is not None,
                     "runs": None, "version": version, "error": error, "install": None, "note": None})
    run_probes(p, [r for r in rows if r["available"]])
    tf_version = device.distribution_version(*device.RUNTIME_DISTRIBUTIONS["tensorflow"])
    rows.append({"name": "tensorflow", "module": "tensorflow", "purpose": "optional: train/export; tf.lite fallback",
                 "available": tf_version is not None, "runs": None, "version": tf_version, "error": None,
                 "install": None,
                 "note": "installed (read from package metadata, not imported)" if tf_version else None})

    by_name = {r["name"]: r for r in rows}
    tflite_ok = by_name["ai-edge-litert"]["runs"] or by_name["tflite-runtime"]["runs"]
    for row in rows:
        if row["available"]:
            if row["runs"] is False and tflite_ok and row["name"] in ("ai-edge-litert", "tflite-runtime"):
                other = "tflite-runtime" if row["name"] == "ai-edge-litert" else "ai-edge-litert"
                row["install"], row["note"] = None, f"{row['note']}; not needed: {other} works"
            continue
        installed = row["module"] != "tensorflow" and device.distribution_version(
            *device.RUNTIME_DISTRIBUTIONS[row["module"].split(".")[0]])
        if row["name"] == "ai-edge-litert":
            row["install"], row["note"] = tflite_install_advice(p)
            if tflite_ok:
                row["install"], row["note"] = None, "not needed: tflite-runtime works"
        elif row["name"] == "tflite-runtime":
            if tflite_ok:
                row["note"] = "not needed: ai-edge-litert works"
            elif not p["architecture"].startswith("arm") or p["python_bits"] != 32:
                row["note"] = "see ai-edge-litert"
            else:  # 32-bit ARM: tflite-runtime is the one TFLite wheel there is
                row["install"], row["note"] = tflite_install_advice(p)
                by_name["ai-edge-litert"]["install"] = None
        elif row["name"] == "onnxruntime":
            row["install"], row["note"] = onnx_install_advice(p)
        elif row["name"] == "opencv":
            row["install"], row["note"] = opencv_install_advice(p)
        elif row["name"] == "tensorflow":
            row["note"] = "optional: only `edgevision train`/`export` need it: python -m pip install -e '.[train]'"
        if installed and row["install"]:
            row["note"] = f"installed ({installed}) but does not import ({row['error']}); reinstall it"
            row["install"] = row["install"].replace(PIP, f"{PIP} --force-reinstall")
    return rows


PROBE_MODULES = {"ai-edge-litert": "ai_edge_litert", "tflite-runtime": "tflite_runtime",
                 "onnxruntime": "onnxruntime", "opencv": "cv2"}
NUMPY_ABI_SIGNS = ("compiled using NumPy 1.x", "_ARRAY_API not found", "multiarray failed to import",
                   "numpy.core._multiarray_umath failed to import")


def run_probes(p: dict, rows: list[dict]) -> None:
    """Run the shipped test model through each row's runtime, all at once, each in its own process."""
    started = []
    for row in rows:
        module = PROBE_MODULES.get(row["name"])
        if module is None:
            continue
        command = [sys.executable, "-m", "edgevision.bench.doctor_probe", module]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_package_root(), os.environ.get("PYTHONPATH")]))}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        started.append((row, process))
    for row, process in started:
        try:
            out, err = process.communicate(timeout=PROBE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            record_probe(p, row, None, f"did not answer the test model within {PROBE_SECONDS} s", "")
            continue
        result = _last_json_line(out)
        if process.returncode == 0 and result and result.get("ok"):
            row["runs"] = True
            continue
        if process.returncode < 0:
            reason = f"crashed ({_signal_name(-process.returncode)}) running the test model"
        elif result and result.get("error"):
            reason = result["error"]
        else:
            reason = f"the test model run failed (exit {process.returncode})"
        record_probe(p, row, process.returncode, reason, err)


def record_probe(p: dict, row: dict, returncode: int | None, reason: str, stderr: str) -> None:
    """Mark a runtime that imports but cannot run the test model, with what to do about it."""
    row["runs"] = False
    row["error"] = reason
    numpy_version = device.distribution_version("numpy") or "?"
    if any(sign in stderr or sign in reason for sign in NUMPY_ABI_SIGNS):
        row["note"] = (f"built against NumPy 1.x, but NumPy {numpy_version} is installed: "
                       f"{row['name']} cannot exchange arrays with it")
        if row["name"] == "tflite-runtime" and litert_wheel_exists(p):
            row["install"] = f"{PIP} ai-edge-litert"
            row["note"] += " (ai-edge-litert, its successor, is built for NumPy 2)"
        elif os.path.isdir(OS_NUMPY) and not _is_os_numpy():
            row["install"] = "python -m pip uninstall -y numpy"
            row["note"] += " (uninstalling pip's NumPy lets the OS's python3-numpy take over)"
        else:
            row["install"] = f'{PIP} "numpy<2"'
        return
    row["note"] = f"imports but {reason}; reinstall it"
    if returncode is not None and returncode < 0 and not _cpuinfo_matches(p["architecture"]):
        row["note"] += ("; /proc/cpuinfo describes another CPU than this one (an emulator?): the runtime's CPU "
                        "detection needs the real one")
    distribution = device.distribution_version(*device.RUNTIME_DISTRIBUTIONS[PROBE_MODULES[row["name"]]])
    if row["name"] == "opencv" and not distribution:
        row["install"] = "sudo apt install --reinstall python3-opencv"
    else:
        package = {"opencv": "opencv-python-headless"}.get(row["name"], row["name"])
        row["install"] = f"{PIP} --force-reinstall {package}"


def probe_model_dir():
    from edgevision.bench.doctor_probe import MODEL_DIR

    return MODEL_DIR


def _package_root() -> str:
    """The folder holding the `edgevision` package, so the probe imports this very copy."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _last_json_line(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _is_os_numpy() -> bool:
    import numpy

    return os.path.realpath(numpy.__file__).startswith(os.path.dirname(OS_NUMPY) + os.sep)


def _cpuinfo_matches(architecture: str) -> bool:
    """False when /proc/cpuinfo names an x86 CPU to an ARM process (qemu-user shows the host's)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return True
    x86 = "GenuineIntel" in text or "AuthenticAMD" in text
    return x86 == (architecture in ("x86_64", "i686", "i386", "AMD64"))


def missing_module_message(module: str | None) -> str | None:
    """One line for a command that needs a package this machine lacks: which one and how to get it here."""
    top = (module or "").split(".")[0]
    p = platform_facts()
    if top == "cv2":
        what, (command, note) = "OpenCV (cv2)", opencv_install_advice(p)
    elif top == "onnxruntime":
        what, (command, note) = "ONNX Runtime", onnx_install_advice(p)
    elif top in ("ai_edge_litert", "tflite_runtime"):
        what, (command, note) = "a TFLite interpreter", tflite_install_advice(p)
    elif top == "matplotlib":
        what, (command, note) = "matplotlib", matplotlib_install_advice(p)
    elif top in ("tensorflow", "keras", "tf2onnx", "onnx"):
        what, command, note = f"{top} (training and export)", f"{PIP} 'edgevision[train]'", None
    else:
        return None
    how = f"`{command}`" + (f" ({note})" if note else "") if command else note
    return f"this needs {what}, which is not installed: {how}; `edgevision doctor` checks the whole setup"


def check_camera(p: dict) -> dict:
    if not p["system"].startswith("linux"):
        return {"present": None, "devices": [], "note": "cameras are opened by index (--source 0); not listed here"}
    devices = sorted(glob.glob("/dev/video*"))
    if devices:
        return {"present": True, "devices": devices, "note": None}
    note = "no /dev/video* device: plug in a USB camera, or run on a video file (--source clip.mp4)"
    if p["raspberry_pi"]:
        note += "; a camera module needs libcamera: check it with `rpicam-hello --list-cameras`"
    return {"present": False, "devices": [], "note": note}


def check_display(p: dict) -> dict:
    if not p["system"].startswith("linux"):
        return {"present": True, "value": None, "note": None}
    value = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
    if value:
        return {"present": True, "value": value, "note": None}
    return {"present": False, "value": None,
            "note": "no DISPLAY/WAYLAND_DISPLAY: `edgevision run --show` cannot open a window; "
                    "use --save out.mp4 or --serve 0.0.0.0:8080"}


def diagnose() -> dict:
    """The whole doctor report as one JSON-ready dict; `ok` is True when at least one inference runtime
    and OpenCV (which reads every image and frame) answer the test model right."""
    p = platform_facts()
    runtimes = check_runtimes(p)
    working = [r["name"] for r in runtimes if r["name"] in ("ai-edge-litert", "tflite-runtime", "onnxruntime")
               and r["runs"]]
    tensorflow = next(r for r in runtimes if r["name"] == "tensorflow")
    if not working and tensorflow["available"]:  # the runtime's last fallback is tf.lite
        working = ["tensorflow"]
    opencv = next(r for r in runtimes if r["name"] == "opencv")
    fixes = list(dict.fromkeys(r["install"] for r in runtimes if r["install"]))
    return {
        "ok": bool(working) and bool(opencv["runs"]),
        "working_runtimes": working,
        "platform": {
            "board": device.board_model(),
            "os": device.os_name(),
            "kernel": platform.release(),
            "architecture": p["architecture"],
            "python": platform.python_version(),
            "python_bits": p["python_bits"],
            "glibc": ".".join(map(str, p["glibc"])) if p["glibc"] else None,
        },
        "runtimes": runtimes,
        "camera": check_camera(p),
        "display": check_display(p),
        "fixes": fixes,
    }


def format_report(report: dict) -> str:
    """The doctor report as a person reads it."""
    plat = report["platform"]
    lines = [
        f"board         {plat['board'] or 'not a Raspberry Pi (no /proc/device-tree/model)'}",
        f"os            {plat['os']} (kernel {plat['kernel']})",
        f"architecture  {plat['architecture']} ({plat['python_bits']}-bit Python)",
        f"python        {plat['python']}",
        "",
        "runtimes",
    ]
    for r in report["runtimes"]:
        status = "missing" if not r["available"] else "broken" if r["runs"] is False else "ok"
        name = f"{r['name']} {r['version']}" if r["version"] else r["name"]
        detail = r["note"] or r["purpose"]
        lines.append(f"  {status:<8} {name:<28} {detail}")
        if r["install"]:
            lines.append(f"  {'':<8} {'':<28} install: {r['install']}")
    camera, display = report["camera"], report["display"]
    lines += ["", "devices"]
    cam_status = {True: "ok", False: "missing", None: "?"}[camera["present"]]
    lines.append(f"  {cam_status:<8} {'camera':<28} {', '.join(camera['devices']) or camera['note']}")
    lines.append(f"  {'ok' if display['present'] else 'missing':<8} {'display':<28} "
                 f"{display['value'] or display['note'] or 'yes'}")
    if report["fixes"]:
        lines += ["", "to fix"] + [f"  {fix}" for fix in report["fixes"]]
    lines.append("")
    opencv = next(r for r in report["runtimes"] if r["name"] == "opencv")
    if report["ok"]:
        lines.append(f"ready: {len(report['working_runtimes'])} runtime(s) ran the test model "
                     f"({', '.join(report['working_runtimes'])})")
    elif not report["working_runtimes"]:
        lines.append("not ready: no inference runtime runs the test model here; run the install command above")
    else:
        lines.append(f"not ready: OpenCV {'is missing' if not opencv['available'] else 'is broken'} "
                     "(it reads every image and frame); run the install command above")
    return "\n".join(lines)
