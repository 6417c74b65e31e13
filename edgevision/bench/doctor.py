"""`edgevision doctor`: which runtimes work on this machine and the exact command for what is missing.

The wheel facts below are what PyPI ships (checked with `pip index versions --platform`):
ai-edge-litert has manylinux_2_27 x86_64/aarch64, macOS arm64 and Windows amd64 wheels and
none for 32-bit ARM; tflite-runtime's last 32-bit ARM wheels (2.13) stop at Python 3.10;
onnxruntime has no 32-bit ARM wheels. TensorFlow is never imported here (it takes seconds):
its presence is read from the package metadata.
"""

from __future__ import annotations

import glob
import importlib
import os
import platform
import sys

from edgevision.bench import device

PIP = "python -m pip install"
GLIBC_FOR_LITERT = (2, 27)


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
        if p["python"] <= (3, 10):
            return (f"{PIP} tflite-runtime",
                    f"ai-edge-litert has no 32-bit ARM ({arch}) wheel; tflite-runtime 2.13 has one for Python <= 3.10")
        return (None, f"no TFLite wheel on PyPI for 32-bit ARM ({arch}) with Python {py}: ai-edge-litert "
                      "ships 64-bit wheels only and tflite-runtime's armv7l wheels stop at Python 3.10. Install "
                      f"the 64-bit Raspberry Pi OS, then `{PIP} ai-edge-litert`")
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
    if p["raspberry_pi"] and p["python_bits"] == 32:
        return "sudo apt install python3-opencv", "or `python -m pip install opencv-python-headless` through piwheels"
    return f"{PIP} opencv-python-headless", "images, video files, cameras and pre-processing need it"


def check_runtimes(p: dict) -> list[dict]:
    """One row per runtime: name, purpose, available, version, error, install, note."""
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
                     "version": version, "error": error, "install": None, "note": None})
    tf_version = device.distribution_version(*device.RUNTIME_DISTRIBUTIONS["tensorflow"])
    rows.append({"name": "tensorflow", "module": "tensorflow", "purpose": "optional: train/export; tf.lite fallback",
                 "available": tf_version is not None, "version": tf_version, "error": None, "install": None,
                 "note": "installed (read from package metadata, not imported)" if tf_version else None})

    by_name = {r["name"]: r for r in rows}
    tflite_ok = by_name["ai-edge-litert"]["available"] or by_name["tflite-runtime"]["available"]
    for row in rows:
        if row["available"]:
            continue
        installed = row["module"] != "tensorflow" and device.distribution_version(
            *device.RUNTIME_DISTRIBUTIONS[row["module"].split(".")[0]])
        if row["name"] == "ai-edge-litert":
            row["install"], row["note"] = tflite_install_advice(p)
            if tflite_ok:
                row["install"], row["note"] = None, "not needed: tflite-runtime works"
        elif row["name"] == "tflite-runtime":
            row["note"] = "not needed: ai-edge-litert works" if tflite_ok else "see ai-edge-litert"
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
    """The whole doctor report as one JSON-ready dict; `ok` is True when at least one runtime works."""
    p = platform_facts()
    runtimes = check_runtimes(p)
    working = [r["name"] for r in runtimes if r["name"] in ("ai-edge-litert", "tflite-runtime", "onnxruntime")
               and r["available"]]
    tensorflow = next(r for r in runtimes if r["name"] == "tensorflow")
    if not working and tensorflow["available"]:  # the runtime's last fallback is tf.lite
        working = ["tensorflow"]
    fixes = [r["install"] for r in runtimes if r["install"]]
    return {
        "ok": bool(working),
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
        status = "ok" if r["available"] else "missing"
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
    if report["ok"]:
        lines.append(f"ready: {len(report['working_runtimes'])} runtime(s) work ({', '.join(report['working_runtimes'])})")
    else:
        lines.append("not ready: no inference runtime imports here; run the install command above")
    return "\n".join(lines)
