"""Report writers and `bench --compare`, on bench JSON files as two devices would write them."""

import json

import pytest

from edgevision.bench import outputs, plots, report
from tests.formats_check import assert_valid


def row(model, threads, p50, accuracy=None, size=1_000_000):
    samples = [p50 * f for f in (0.9, 0.95, 1.0, 1.0, 1.05, 1.3)]
    latency = {"mean": sum(samples) / len(samples), "std": 0.1, "min": min(samples), "p50": p50, "p90": p50 * 1.2,
               "p99": p50 * 1.3, "max": max(samples)}
    return {"model": f"out/{model}", "format": model.rsplit(".", 1)[1], "quantization": "int8" if "int8" in model
            else "none", "threads": threads, "size_bytes": size, "gzip_bytes": size // 2, "init_ms": 5.0,
            "first_ms": 9.0, "latency_ms": latency, "fps": 1000 / latency["mean"], "peak_rss_mb": 60.0,
            "accuracy": accuracy, "status": "ok", "samples_ms": samples, "backend": "litert", "backend_version": "2"}


def bench_doc(name, scale):
    return {"device": {"name": name, "cpu_model": "cpu", "cpu_cores": 4, "architecture": "aarch64"},
            "results": [row("m_fp32.tflite", 1, 10 * scale, 0.90, 4_000_000),
                        row("m_int8.tflite", 1, 4 * scale, 0.895, 1_000_000),
                        row("m.onnx", 1, 6 * scale, 0.90, 4_000_000),
                        {"model": "out/broken.tflite", "threads": 1, "status": "failed", "error": "not TFLite"}]}


@pytest.fixture
def two_devices(tmp_path):
    paths = []
    for name, scale in (("laptop", 1), ("Raspberry Pi 4 Model B", 9)):
        path = tmp_path / name.split()[0] / "bench.json"
        path.parent.mkdir()
        path.write_text(json.dumps(bench_doc(name, scale)))
        paths.append(path)
    return paths


def test_recommendation_is_fastest_within_the_accuracy_budget():
    rows = bench_doc("d", 1)["results"]
    assert report.recommend(rows, max_drop=0.01)["model"] == "out/m_int8.tflite"
    assert report.recommend(rows, max_drop=0.001)["model"] == "out/m.onnx"  # int8 lost 0.005: too much


def test_pareto_front_drops_dominated_models():
    front = report.pareto_front(bench_doc("d", 1)["results"])
    assert [r["model"] for r in front] == ["out/m_int8.tflite", "out/m.onnx"]  # fp32: slower, no more accurate


def test_compare_puts_devices_side_by_side(cli, two_devices, tmp_path):
    out = tmp_path / "cmp" / "nested"  # created if missing
    result = cli("bench", "--compare", *two_devices, "--report", out)
    assert result.returncode == 0, result.stderr
    doc = assert_valid("bench", out / "bench.json")
    assert [d["name"] for d in doc["devices"]] == ["laptop", "Raspberry Pi 4 Model B"]
    assert {r["device"] for r in doc["results"]} == {"laptop", "Raspberry Pi 4 Model B"}
    header, *lines = [line for line in (out / "bench.md").read_text().splitlines() if line.startswith("| ")]
    assert "p50 ms (laptop)" in header and "p50 ms (Raspberry Pi 4 Model B)" in header
    int8 = next(line for line in lines if line.startswith("| m_int8.tflite"))
    assert "| 4.00 |" in int8 and "| 36.00 |" in int8  # one line, both devices' numbers
    assert "laptop: fastest within the accuracy budget: m_int8.tflite" in result.stdout
    html = (out / "bench.html").read_text()
    assert html.count("data:image/png;base64,") == (3 if plots.available() else 0)


def test_compare_names_the_same_device_twice_apart(two_devices):
    doc = report.merge([two_devices[0], two_devices[0]])
    assert len({d["name"] for d in doc["devices"]}) == 2


@pytest.mark.parametrize("content, words", [
    ('{"task": "classify", "test_accuracy": 0.9}', "is not an edgevision bench report"),
    ('{"device": {}, "results": [{"model": "a.tflite"}]}', "lacks"),
    ("not json", "is not a JSON file"),
    ('{"devices": [], "results": []}', "is a --compare report"),
])
def test_compare_with_another_schema_exits_2(cli, two_devices, tmp_path, content, words):
    other = tmp_path / "metrics.json"
    other.write_text(content)
    result = cli("bench", "--compare", two_devices[0], other, "--report", tmp_path / "cmp")
    assert result.returncode == 2
    assert words in result.stderr and "metrics.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cmp" / "bench.json").exists()


def test_tables_csv_and_html_written(tmp_path):
    doc = bench_doc("laptop", 1)
    doc["recommendation"] = report.recommend(doc["results"], 0.01)
    paths, note = outputs.write_report(doc, tmp_path / "r")
    names = {p.name for p in paths}
    assert {"bench.json", "bench.csv", "bench.md", "bench.html"} <= names
    assert_valid("bench", tmp_path / "r" / "bench.json")
    csv_lines = (tmp_path / "r" / "bench.csv").read_text().splitlines()
    assert csv_lines[0].startswith("device,model,format") and len(csv_lines) == 5
    assert "failed" in csv_lines[-1] and "not TFLite" in csv_lines[-1]
    md = (tmp_path / "r" / "bench.md").read_text()
    assert "failed: not TFLite" in md and "**Recommendation**" in md


def test_without_matplotlib_the_tables_are_still_written_and_the_fix_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "available", lambda: False)
    paths, note = outputs.write_report(bench_doc("laptop", 1), tmp_path)
    assert "edgevision[bench]" in note
    assert not list(tmp_path.glob("*.png"))
    assert "edgevision[bench]" in (tmp_path / "bench.html").read_text()
