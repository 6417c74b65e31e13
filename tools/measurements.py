"""The measured-figure sections of docs/measurements.md, written by the tools/ benchmarks.

A section is the text between the lines `<!-- measured: NAME -->` and `<!-- /measured: NAME -->`.
A benchmark given `--docs docs/measurements.md` replaces its section with the table it printed,
headed by the command line that produced it, the date, the machine and the load average; the rest
of the file stays as it is. An `edgevision bench` report goes in the same way:

    python tools/measurements.py bench/bench.json --section bench --docs docs/measurements.md \\
        --command "edgevision bench m_fp32.tflite m_int8.tflite --report bench/"
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgevision import atomic  # noqa: E402
from edgevision.bench.device import architecture, cpu_model  # noqa: E402
from edgevision.bench.report import markdown_table, markdown_text, read_bench_json  # noqa: E402
from edgevision.errors import UserError  # noqa: E402

DOCS = ROOT / "docs" / "measurements.md"


class SectionError(ValueError):
    """The file lacks the section's two marker lines (or holds them twice, or in the wrong order)."""


def markers(name: str) -> tuple[str, str]:
    return f"<!-- measured: {name} -->", f"<!-- /measured: {name} -->"


def _span(text: str, name: str, path) -> tuple[int, int]:
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1 or text.index(end) < text.index(start):
        raise SectionError(f"{path} has no section {name!r}: put the line `{start}` and, below it, "
                           f"the line `{end}` where that table goes")
    return text.index(start) + len(start), text.index(end)


def _read(path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SectionError(f"{path} not found: pass --docs the docs/measurements.md of this checkout") from None


def check_section(path, name: str) -> None:
    """Raise SectionError unless `path` holds section `name` (checked before a long benchmark starts)."""
    _span(_read(path), name, path)


def replace_section(path, name: str, body: str) -> None:
    """Replace what section `name` of `path` holds with `body`; every other byte of the file is kept."""
    text = _read(path)
    begin, end = _span(text, name, path)
    atomic.write_text(path, text[:begin] + "\n" + body.strip("\n") + "\n" + text[end:])


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table, as `edgevision bench` writes its own."""
    return markdown_table([header, *[[str(cell) for cell in row] for row in rows]])


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def machine() -> str:
    return f"{cpu_model() or 'unknown CPU'}, {os.cpu_count()} CPUs, {architecture()}"


def command_line(argv: list[str] | None = None) -> str:
    """The command that is running, as typed from the repository root (`python tools/x.py ARGS`),
    without its `--docs FILE` (where the figures go does not change them)."""
    argv = sys.argv if argv is None else argv
    script = Path(argv[0])
    if script.is_absolute() and script.is_relative_to(ROOT):
        script = script.relative_to(ROOT)
    args, rest = [], list(argv[1:])
    while rest:
        arg = rest.pop(0)
        if arg == "--docs":
            rest = rest[1:]
        elif not arg.startswith("--docs="):
            args.append(arg)
    return shlex.join(["python", str(script), *args])


def heading(command: str, load_before: float | None = None, load_after: float | None = None,
            date: str | None = None) -> str:
    """`COMMAND` on DATE, MACHINE, load average L before, M after:"""
    date = date or datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    load = "" if load_before is None else f", load average {load_before:g}"
    load += "" if load_after is None else f" before, {load_after:g} after"
    return f"`{command}` on {date}, {machine()}{load}:"


def add_docs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--docs", type=Path, metavar="FILE",
                        help="also write the figures into their section of FILE (docs/measurements.md)")


def require(docs, *names: str) -> None:
    """Exit 2 with the file and the fix when `docs` lacks one of the sections (before measuring anything)."""
    try:
        for name in names if docs else ():
            check_section(docs, name)
    except SectionError as error:
        print(f"{Path(sys.argv[0]).stem}: {error}", file=sys.stderr)
        sys.exit(2)


def publish(docs, name: str, body: str, file=sys.stdout) -> None:
    """Print the figures; with `docs`, also write them into section `name` of that file."""
    print(body, file=file)
    if docs:
        require(docs, name)
        replace_section(docs, name, body)
        print(f"wrote section {name!r} of {docs}", file=sys.stderr)


def bench_section(report, command: str) -> str:
    """An `edgevision bench` report (bench.json) as its bench.md shows it, under the command that measured it."""
    doc = read_bench_json(report)
    text = "\n".join(line for line in markdown_text(doc).splitlines() if not line.startswith("# "))
    return f"`{command}`:\n\n{text.strip()}\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="bench.json written by `edgevision bench`")
    parser.add_argument("--section", default="bench")
    parser.add_argument("--command", required=True, help="the `edgevision bench ...` command that wrote it")
    parser.add_argument("--docs", type=Path, default=DOCS)
    args = parser.parse_args(argv)
    require(args.docs, args.section)
    try:
        body = bench_section(args.report, args.command)
    except UserError as error:
        print(f"measurements: {error}", file=sys.stderr)
        return 2
    publish(args.docs, args.section, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
