"""`edgevision bench` end to end on real third-party models, a tiny ONNX model and a broken file."""

import json

import pytest

from edgevision.bench import plots
from edgevision.data import load_images
from tests.formats_check import assert_valid

DESIGN_ROW_KEYS = {"model", "format", "quantization", "threads", "size_bytes", "init_ms", "first_ms", "latency_ms",
                   "fps", "peak_rss_mb"}
FAST = ("--runs", "5", "--warmup", "1", "--max-seconds", "5")


@pytest.mark.slow
def test_bench_measures_each_model_and_reports_a_broken_one_as_failed(cli, reference, constant_onnx,
                                                                      broken_tflite, tmp_path):
    tflite = reference / "mobilenet_v1_0.25_128_quant.tflite"
    onnx_model = constant_onnx[0]
    out = tmp_path / "report"
    result = cli("bench", tflite, broken_tflite, onnx_model, "--threads", "1", *FAST, "--report", out, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc == assert_valid("bench", out / "bench.json")
    assert {"cpu_model", "cpu_cores", "architecture", "os", "python", "runtimes", "thermal"} <= set(doc["device"])
    rows = {r["model"]: r for r in doc["results"]}
    assert len(rows) == 3
    for path, fmt in ((tflite, "tflite"), (onnx_model, "onnx")):
        row = rows[str(path)]
        assert row["status"] == "ok" and DESIGN_ROW_KEYS <= set(row) and row["format"] == fmt
        assert set(row["latency_ms"]) == {"mean", "std", "min", "p50", "p90", "p99", "max"}
        assert 0 < row["latency_ms"]["min"] <= row["latency_ms"]["p50"] <= row["latency_ms"]["max"]
        assert row["runs"] == 5 and len(row["samples_ms"]) == 5 and row["threads"] == 1
        assert row["size_bytes"] == path.stat().st_size and 0 < row["gzip_bytes"] < row["size_bytes"]
        assert row["peak_rss_mb"] > row["model_rss_mb"] > 0
    assert rows[str(tflite)]["quantization"] == "int8" and rows[str(tflite)]["backend_version"]
    broken = rows[str(broken_tflite)]
    assert broken["status"] == "failed" and "broken.tflite" in broken["error"]
    written = {p.name for p in out.iterdir()}
    assert {"bench.json", "bench.csv", "bench.md", "bench.html"} <= written
    if plots.available():
        assert {"latency_distribution.png", "latency_vs_size.png"} <= written
    assert json.loads((out / "bench.json").read_text())["results"] == doc["results"]
    assert "failed" in (out / "bench.md").read_text()


@pytest.mark.slow
def test_accuracy_goes_through_predict_and_maps_labels_by_name(cli, constant_onnx, tmp_path):
    model, labels, answer = constant_onnx  # labels in reverse order of synthetic:shapes; always "star"
    source = "synthetic:shapes:100"
    result = cli("bench", model, "--threads", "1", *FAST, "--data", source, "--limit", "10",
                 "--report", tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["results"][0]
    _, truth, class_names = load_images(source, "test", image_size=16, limit=10)
    star = class_names.index(labels[answer])
    assert row["accuracy_images"] == len(truth)
    assert row["accuracy"] == pytest.approx(float((truth == star).mean()))
    assert "accuracy_vs_latency.png" in {p.name for p in tmp_path.iterdir()} or not plots.available()


def test_nothing_measurable_exits_2_but_writes_the_report(cli, broken_tflite, tmp_path):
    result = cli("bench", broken_tflite, "--threads", "1", *FAST, "--report", tmp_path / "r")
    assert result.returncode == 2
    assert "no model could be measured" in result.stderr
    assert "failed" in (tmp_path / "r" / "bench.md").read_text()
    assert_valid("bench", tmp_path / "r" / "bench.json")


@pytest.mark.parametrize("args, words", [
    (("--threads", "1,x"), "--threads"),
    (("--max-drop", "5"), "--max-drop"),
    (("--data", "no/such/folder"), "no such folder"),
])
def test_bad_arguments_exit_2_with_one_line(cli, constant_onnx, tmp_path, args, words):
    result = cli("bench", constant_onnx[0], *args, "--report", tmp_path / "r")
    assert result.returncode == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_models_and_compare_together_is_bad_input(cli, constant_onnx, tmp_path):
    result = cli("bench", constant_onnx[0], "--compare", tmp_path / "a.json", "--report", tmp_path / "r")
    assert result.returncode == 2 and "not both" in result.stderr


def test_dataset_classes_are_matched_to_label_synonyms_or_refused():
    from edgevision.bench.worker import target_indices

    labels = ["background", "tench, Tinca tinca", "Egyptian cat", "macaw"]
    assert target_indices(["macaw", "egyptian_cat", "tench"], labels, 4)[0] == [3, 2, 1]
    targets, note = target_indices(["macaw", "zebra"], labels, 4)
    assert targets is None and "zebra" in note and "--labels" in note
    assert target_indices(["a", "b"], [], 2)[0] == [0, 1]  # unlabelled, one output per class
    assert target_indices(["a", "b"], [], 1001)[0] is None  # a guess would give a wrong number


@pytest.fixture
def photo_folder(reference, tmp_path):
    """8 crops of the reference parrot and cat photos in ImageNet-named class folders."""
    import cv2

    for name, photo in (("macaw", "parrot.jpg"), ("Egyptian cat", "cat.bmp")):
        image = cv2.imread(str(reference / photo))
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(4):
            crop = image[i * 10:, : image.shape[1] - i * 8]
            cv2.imwrite(str(tmp_path / "photos" / name / f"{i}.png"), cv2.resize(crop, (160, 160)))
    return tmp_path / "photos"


@pytest.mark.slow
def test_accuracy_of_a_real_model_on_real_photos(cli, reference, photo_folder, tmp_path):
    model = reference / "mobilenet_v1_0.25_128_quant.tflite"  # its labels ride in its TFLite metadata
    args = ("bench", model, "--threads", "1", *FAST, "--data", photo_folder, "--split", "all", "--json")
    embedded = json.loads(cli(*args, "--report", tmp_path / "a").stdout)["results"][0]
    given = json.loads(cli(*args, "--labels", reference / "imagenet_labels.txt", "--report", tmp_path / "b").stdout)
    row = given["results"][0]
    assert row["accuracy_images"] == 8 and row["accuracy"] >= 0.75  # measured here: 7 of 8
    assert embedded["accuracy"] == row["accuracy"]


@pytest.mark.slow
def test_unlabelled_model_with_more_outputs_than_classes_gets_no_accuracy(cli, tmp_path):
    from tests.bench.conftest import write_constant_onnx

    model = write_constant_onnx(tmp_path / "unlabelled.onnx", [str(i) for i in range(5)], answer=0)
    sidecar = json.loads((tmp_path / "unlabelled.json").read_text())
    (tmp_path / "unlabelled.json").write_text(json.dumps({**sidecar, "labels": []}))
    result = cli("bench", model, "--threads", "1", *FAST, "--data", "synthetic:shapes:100", "--limit", "8",
                 "--report", tmp_path / "r", "--json")
    row = json.loads(result.stdout)["results"][0]
    assert row["accuracy"] is None and "--labels" in row["accuracy_note"]
    assert "--labels" in json.loads(result.stdout)["recommendation"]["text"]


@pytest.mark.slow
def test_unusable_data_keeps_the_latency_and_says_why_accuracy_is_missing(cli, constant_onnx, tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("bench", constant_onnx[0], "--threads", "1", *FAST, "--data", tmp_path / "empty",
                 "--report", tmp_path / "r", "--json")
    assert result.returncode == 0, result.stderr
    row = json.loads(result.stdout)["results"][0]
    assert row["status"] == "ok" and row["latency_ms"]["p50"] > 0
    assert row["accuracy"] is None and "empty" in row["accuracy_note"]
