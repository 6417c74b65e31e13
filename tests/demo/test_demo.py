import json

import cv2
import pytest

from tests.formats_check import assert_valid


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_links_it(cli, tmp_path):
    out = tmp_path / "demo"
    result = cli("demo", "--out", out, "--json", timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    doc = json.loads(result.stdout)
    assert len(doc["summary"]) == 5
    page = (out / "index.html").read_text()
    for linked in ("export/export_report.md", "video/annotated.mp4", "bench/bench.html", "train/model.keras"):
        assert linked in page and (out / linked).is_file()
    video = cv2.VideoCapture(str(out / "video" / "annotated.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) >= 100
    bench = assert_valid("bench", out / "bench" / "bench.json")
    assert {r["status"] for r in bench["results"]} == {"ok"}
    assert len(list((out / "predict").glob("*.png"))) == 8
    assert "[6/6] report" in result.stderr
    assert all(0 <= t < 1800 for t in doc["step_seconds"].values()), doc["step_seconds"]
    # fine-tuned from the project's pretrained backbone, the model really learns the shapes
    metrics = assert_valid("metrics", out / "train" / "metrics.json")
    assert_valid("sidecar", out / "train" / "model.json")
    assert assert_valid("run_metrics", out / "video" / "metrics.json")["frames"] >= 100
    assert metrics["test_accuracy"] >= 0.9
    export = assert_valid("export_report", out / "export" / "export_report.json")
    assert all(a["passed"] for a in export["artifacts"]), export["artifacts"]


def test_demo_refuses_a_folder_holding_other_files(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = cli("demo", "--out", tmp_path)
    assert result.returncode == 2
    assert "--overwrite" in result.stderr
    assert (tmp_path / "notes.txt").read_text() == "mine"
