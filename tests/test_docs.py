"""README.md and the manual in docs/: every page in the mkdocs nav, every relative link and anchor resolves,
the README stays a README and gives the test command CI runs."""

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def nav_files(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in nav_files(value)]
    return [f for item in nav for f in nav_files(item)]


def prose(text: str) -> str:
    """The text outside fenced code blocks and inline code, where links are links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading: str) -> str:
    """The anchor mkdocs gives a heading (Python-Markdown's toc slugify)."""
    text = LINK.sub(lambda m: m.group(0)[1:m.group(0).index("]")], heading).replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def test_every_docs_page_is_in_the_nav_once():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = nav_files(config["nav"])
    assert sorted(listed) == sorted(set(listed)), "a page is listed twice in mkdocs.yml nav"
    on_disk = {p.name for p in PAGES}
    assert set(listed) - on_disk == set(), "mkdocs.yml nav lists pages that docs/ does not have"
    assert on_disk - set(listed) == set(), "pages in docs/ missing from mkdocs.yml nav: add them"
    assert {"index.md", "measurements.md"} <= on_disk


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_to_files_and_headings_that_exist(path):
    broken = []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
        elif path.parent == DOCS and not linked.is_relative_to(DOCS):
            broken.append(f"{target}: outside docs/, mkdocs cannot serve it")
    assert broken == [], f"{path.name}: broken links: {broken}"


def test_slug_is_the_one_mkdocs_makes():
    assert slug("int8 on real photos") == "int8-on-real-photos"
    assert slug("Real data: a Roboflow export in 20 minutes") == "real-data-a-roboflow-export-in-20-minutes"
    assert slug("Exported detector: sizes, mAP and latency") == "exported-detector-sizes-map-and-latency"
    assert slug("Model descriptions (sidecars)") == "model-descriptions-sidecars"


def test_readme_is_short_and_gives_the_test_command_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200, "README.md is over 200 lines: move the detail into docs/"
    ci = (ROOT / ".ci" / "run").read_text()
    commands = re.findall(r"^(python -m pytest\b.*)$", ci, re.M)
    assert len(commands) == 1, ".ci/run should run pytest once"
    assert commands[0] in readme, f"README.md must give the test command .ci/run runs: {commands[0]}"
    for install in ("python -m pip install -e \".[train,dev]\"", "sudo apt install python3-numpy python3-opencv",
                    "python3 -m venv --system-site-packages ~/edgevision-venv", "python -m pip install edgevision"):
        assert install in readme


@pytest.mark.parametrize("path", [ROOT / "README.md", *PAGES], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_describe_the_product_not_how_it_was_made(path):
    words = re.findall(r"\b(session \d|helpers? (?:training|sharing)|other helpers)\b", path.read_text(), re.I)
    assert words == []
