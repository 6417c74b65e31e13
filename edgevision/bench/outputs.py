"""Every file of a benchmark report: the tables (report.py), the PNG plots and bench.html."""

from __future__ import annotations

from pathlib import Path

from edgevision import atomic
from edgevision.bench import html, plots
from edgevision.bench.report import write_tables


def write_report(doc: dict, out_dir) -> tuple[list[Path], str | None]:
    """Every output into `out_dir`: tables, PNG plots and bench.html.

    Returns (paths written, note): the note says how to get the plots when matplotlib is missing.
    """
    paths = write_tables(doc, out_dir)
    pngs, note = {}, None
    if plots.available():
        pngs = plots.render_all(doc["results"])
        for name, png in pngs.items():
            atomic.write_bytes(Path(out_dir) / name, png)
            paths.append(Path(out_dir) / name)
    else:
        note = f"plots skipped: matplotlib is not installed here; {plots.install_hint()}"
    page = Path(out_dir) / "bench.html"
    atomic.write_text(page, html.page(doc, pngs, note))
    paths.append(page)
    return paths, note
