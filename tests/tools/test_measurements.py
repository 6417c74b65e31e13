"""tools/measurements.py: the benchmarks write their figures into their own section of docs/measurements.md."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import measurements

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "measurements.md"

PAGE = """# Measurements

Hand-written notes before.

<!-- measured: train -->
old train table
<!-- /measured: train -->

Notes between, kept as they are.

<!-- measured: export -->
| what | measured |
|---|---|
| old | 1 s |
<!-- /measured: export -->

Notes after.
"""


def test_replace_section_rewrites_that_section_only(tmp_path):
    page = tmp_path / "measurements.md"
    page.write_text(PAGE)
    body = measurements.table(["what", "measured"], [["new", "2 s"]])
    measurements.replace_section(page, "export", body)
    text = page.read_text()
    assert "| new | 2 s |" in text and "| old | 1 s |" not in text
    before, after = PAGE.split("<!-- measured: export -->")[0], PAGE.split("<!-- /measured: export -->")[1]
    assert text.startswith(before) and text.endswith("<!-- /measured: export -->" + after)
    assert "old train table" in text
    measurements.replace_section(page, "export", body)  # a second run gives the same file
    assert page.read_text() == text


@pytest.mark.parametrize("page", [PAGE.replace("<!-- /measured: export -->\n", ""),
                                  PAGE.replace("<!-- measured: export -->", "<!-- measured: exports -->"),
                                  PAGE + "<!-- measured: export -->\n<!-- /measured: export -->\n"])
def test_missing_or_doubled_markers_name_the_file_and_the_fix(tmp_path, page):
    path = tmp_path / "measurements.md"
    path.write_text(page)
    with pytest.raises(measurements.SectionError) as error:
        measurements.replace_section(path, "export", "x")
    message = str(error.value)
    assert str(path) in message and "<!-- measured: export -->" in message and "<!-- /measured: export -->" in message
    assert path.read_text() == page


def test_missing_file_names_it(tmp_path):
    with pytest.raises(measurements.SectionError, match="measurements.md not found"):
        measurements.check_section(tmp_path / "measurements.md", "train")


def test_a_benchmark_stops_before_measuring_when_its_section_is_missing(tmp_path):
    page = tmp_path / "measurements.md"
    page.write_text(PAGE)
    result = subprocess.run([sys.executable, "tools/bench_video.py", "--docs", str(page)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(page) in lines[0] and "<!-- measured: video -->" in lines[0]
    assert page.read_text() == PAGE


def test_command_line_is_what_was_typed_without_docs():
    argv = [str(ROOT / "tools" / "bench_train.py"), "--out", "/tmp/b c", "--docs", "docs/measurements.md", "--seed=1"]
    assert measurements.command_line(argv) == "python tools/bench_train.py --out '/tmp/b c' --seed=1"
    heading = measurements.heading("python tools/x.py", 1.5, 2.0, date="2026-12-01")
    assert heading.startswith("`python tools/x.py` on 2026-12-01, ") and heading.endswith(
        f"{measurements.machine()}, load average 1.5 before, 2 after:")


def sections_written_by_tools() -> set[str]:
    names = set()
    for path in (ROOT / "tools").glob("*.py"):
        names |= set(re.findall(r'^(?:[A-Z0-9_]*SECTION(?:, [A-Z0-9_]*SECTION)*) = (.+)$', path.read_text(), re.M))
    return {name for line in names for name in re.findall(r'"([\w-]+)"', line)}


def test_docs_hold_every_section_a_tool_writes():
    names = sections_written_by_tools()
    assert {"train", "real", "real-phase1", "real-detection", "export", "runtime", "video", "detection"} <= names
    for name in names | {"bench"}:
        measurements.check_section(DOCS, name)
    in_docs = set(re.findall(r"^<!-- measured: ([\w-]+) -->$", DOCS.read_text(), re.M))
    assert in_docs == names | {"bench"}, "a section no tool writes, or a tool whose section is missing"


@pytest.mark.slow
def test_bench_report_goes_into_its_section_as_bench_md_shows_it(tmp_path, cli, reference):
    """`edgevision bench` on the smallest reference model, then tools/measurements.py puts its table into the page."""
    tflite = reference / "mobilenet_v1_0.25_128_quant.tflite"
    bench = cli("bench", tflite, "--threads", "1", "--runs", "5", "--warmup", "1", "--report", tmp_path / "bench")
    assert bench.returncode == 0, bench.stderr
    page = tmp_path / "measurements.md"
    page.write_text(PAGE.replace("export", "bench"))
    command = f"edgevision bench {tflite.name} --threads 1 --runs 5 --report bench/"
    result = subprocess.run([sys.executable, "tools/measurements.py", str(tmp_path / "bench" / "bench.json"),
                             "--command", command, "--docs", str(page)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    section = page.read_text().split("<!-- measured: bench -->")[1].split("<!-- /measured: bench -->")[0]
    bench_md = (tmp_path / "bench" / "bench.md").read_text()
    table = [line for line in bench_md.splitlines() if line.startswith("|")]
    assert len(table) == 3 and all(line in section.splitlines() for line in table)
    assert f"`{command}`" in section and "old train table" in page.read_text()


def test_bench_report_that_is_not_one_exits_2(tmp_path):
    page = tmp_path / "measurements.md"
    page.write_text(PAGE.replace("export", "bench"))
    (tmp_path / "bench.json").write_text("{}")
    result = subprocess.run([sys.executable, "tools/measurements.py", str(tmp_path / "bench.json"),
                             "--command", "edgevision bench m.tflite", "--docs", str(page)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and "bench.json" in result.stderr and result.stdout == ""
    assert page.read_text() == PAGE.replace("export", "bench")
