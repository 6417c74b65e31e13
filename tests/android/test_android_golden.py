"""The committed golden vectors of android-demo/core are what the current Python runtime produces.

GoldenTest.kt holds the Kotlin core to these files; this test holds the Python runtime to them,
so a change on either side that makes the two disagree fails a test.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "android_golden.py"
GOLDEN = ROOT / "android-demo" / "core" / "src" / "test" / "resources" / "golden"
FROM_REFERENCE = ("photo_cat_64x48.rgb", "mobilenet_v1_025_128_quant_cat.u8")


def regenerate(out: Path, reference: Path):
    result = subprocess.run([sys.executable, str(TOOL), "--out", str(out), "--reference", str(reference)],
                            capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]


def differing(a: Path, b: Path) -> list[str]:
    names = {p.name for p in a.iterdir()} | {p.name for p in b.iterdir()}
    return sorted(n for n in names if not ((a / n).is_file() and (b / n).is_file() and (a / n).read_bytes() == (b / n).read_bytes()))


@pytest.mark.slow
def test_golden_vectors_are_what_the_python_runtime_writes(tmp_path):
    out = tmp_path / "golden"
    out.mkdir()
    for name in FROM_REFERENCE:  # the photo crop and real model output are inputs: reuse the committed ones
        shutil.copy(GOLDEN / name, out / name)
    regenerate(out, tmp_path / "no-reference")
    assert differing(GOLDEN, out) == [], "run `python tools/android_golden.py` and commit the result"


@pytest.mark.slow
def test_photo_crop_and_real_model_output_come_from_the_reference_files(tmp_path, reference):
    out = tmp_path / "golden"
    regenerate(out, reference)
    assert differing(GOLDEN, out) == []
    assert (out / FROM_REFERENCE[0]).stat().st_size == 64 * 48 * 3  # a crop, never the photo itself
