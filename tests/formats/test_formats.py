"""The file formats as shipped schemas: valid draft 2020-12, in the installed package, agreeing with the
library's constants, met by the files edgevision writes, and broken files refused with one line naming
the file, the JSON path and what is wrong."""

import json
import shutil
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from edgevision import formats, metadata
from edgevision.bench import report as bench_report
from edgevision.bench import runner
from edgevision.errors import UserError
from edgevision.export import options as export_options
from edgevision.formats import checker
from edgevision.metadata import ModelInfo, read_sidecar, write_sidecar
from edgevision.runtime.metrics import latency_stats
from edgevision.train.report import classification_metrics
from tests.bench.conftest import write_constant_onnx
from tests.conftest import ROOT
from tests.formats_check import assert_valid


def used_keywords(schema: dict) -> set[str]:
    found = set(schema)
    for key, value in schema.items():
        if key in ("properties", "$defs"):
            for sub in value.values():
                found |= used_keywords(sub)
        elif key in ("items", "additionalProperties", "if", "then", "else") and isinstance(value, dict):
            found |= used_keywords(value)
    return found


@pytest.mark.parametrize("kind", formats.KINDS)
def test_each_schema_is_valid_draft_2020_12_within_the_builtin_checkers_keywords(kind):
    schema = formats.schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert used_keywords(schema) <= checker.KEYWORDS | checker.ANNOTATIONS, "the built-in checker would ignore these"


def test_enums_are_the_librarys_constants():
    side = formats.schema("sidecar")["properties"]
    assert side["task"]["enum"] == list(metadata.TASKS)
    assert side["output_layout"]["enum"] == list(metadata.OUTPUT_LAYOUTS)
    assert side["quantization"]["enum"] == list(metadata.QUANTIZATIONS)
    assert side["format"]["enum"] == list(metadata.MODEL_FORMATS)
    assert side["color_order"]["enum"] == list(metadata.COLOR_ORDERS)
    assert formats.schema("metrics")["properties"]["task"]["enum"] == list(metadata.TASKS)

    export = formats.schema("export_report")
    artifact = export["$defs"]["artifact"]["properties"]
    assert artifact["format"]["enum"] == list(export_options.FORMATS)
    assert artifact["quantization"]["enum"] == list(metadata.QUANTIZATIONS)
    assert set(export_options.FORMATS) <= set(metadata.MODEL_FORMATS)
    assert export["if"]["properties"]["task"]["const"] in metadata.TASKS

    bench = formats.schema("bench")["$defs"]
    assert bench["quantization"]["enum"] == [*metadata.QUANTIZATIONS, None]
    assert bench["row"]["properties"]["task"]["enum"] == list(metadata.TASKS)
    assert bench["row"]["properties"]["latency_ms"]["required"] == list(bench_report.LATENCY_KEYS) \
        == list(latency_stats([1.0]))

    run = formats.schema("run_metrics")
    assert run["properties"]["task"]["enum"] == [*metadata.TASKS, None]
    assert run["$defs"]["stage"]["required"] == [*latency_stats([1.0]), "count"]


def test_bench_formats_are_those_the_runner_names(tmp_path):
    named = set()
    for name in ("m.tflite", "m.onnx", "m.task"):
        (tmp_path / name).write_bytes(b"\0" * 8)
        named.add(runner.file_facts(tmp_path / name)["format"])
    assert formats.schema("bench")["$defs"]["row"]["properties"]["format"]["enum"] == [*export_options.FORMATS, None]
    assert named == {*export_options.FORMATS, None}


# ---- files the code writes ------------------------------------------------------------------

def detector_info(**changes) -> ModelInfo:
    fields = dict(task="detect", input_size=(64, 64), labels=["circle", "square"], output_layout="ssd_raw",
                  architecture="ssdlite_mobilenet_v2", alpha=0.35, anchors=[[0.5, 0.5, 0.2, 0.2]] * 6,
                  box_scales=(10.0, 10.0, 5.0, 5.0), format="tflite", quantization="int8",
                  input_quantization={"dtype": "int8", "scale": 0.0078125, "zero_point": 0},
                  extra={"data": {"source": "synthetic:shapes-det", "seed": 0, "split": [0.8, 0.1, 0.1]}})
    return ModelInfo(**{**fields, **changes})


@pytest.mark.parametrize("info", [
    ModelInfo(task="classify", input_size=(96, 96), labels=["a", "b"]),
    detector_info(),
], ids=["classifier", "detector"])
def test_a_written_sidecar_holds_every_field_and_validates(tmp_path, info):
    path = write_sidecar(tmp_path / "model.tflite", info)
    document = assert_valid("sidecar", path)
    assert set(document) == set(ModelInfo.__dataclass_fields__)  # the writer writes every field
    assert json.loads(read_sidecar(tmp_path / "model.tflite").to_json()) == document
    assert read_sidecar(tmp_path / "model.tflite") == info  # read back as written, tuples as tuples


def test_a_measured_bench_report_validates(tmp_path):
    from edgevision.bench import benchmark

    model = write_constant_onnx(tmp_path / "constant.onnx", ["a", "b"], answer=0)
    doc, _, _ = benchmark([model, tmp_path / "missing.tflite"], tmp_path / "r", threads=[1], runs=3, warmup=1,
                          max_seconds=2)
    assert [r["status"] for r in doc["results"]] == ["ok", "failed"]
    assert_valid("bench", tmp_path / "r" / "bench.json")


@pytest.mark.parametrize("task", metadata.TASKS)
def test_a_run_summary_holds_every_described_key_and_validates(cli, tmp_path, task):
    """`run --metrics --json`: a classifier over a folder, saved to a video; a detector over a clip, no output."""
    import cv2

    from tests.runtime.tiny_models import constant_outputs_onnx
    from tests.runtime.video_clips import synthetic_frames, write_video

    if task == "classify":
        model = write_constant_onnx(tmp_path / "m.onnx", ["a", "b"], answer=1)
        source = tmp_path / "photos"
        source.mkdir()
        for i, frame in enumerate(synthetic_frames(2)):
            cv2.imwrite(str(source / f"{i}.png"), frame)
        outputs = ["--save", tmp_path / "out.mp4"]
    else:
        values = {"boxes": [[[0.1, 0.2, 0.5, 0.6], [0, 0, 0, 0]]], "classes": [[3.0, 0.0]], "scores": [[0.9, 0.0]],
                  "count": [1.0]}
        model = constant_outputs_onnx(tmp_path / "m.onnx", values)
        source = write_video(tmp_path / "clip.mp4", synthetic_frames(3))
        outputs = []
    metrics = tmp_path / "summary.json"
    result = cli("run", "--model", model, "--source", source, *outputs, "--metrics", metrics, "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    summary = assert_valid("run_metrics", metrics)
    assert json.loads(result.stdout) == summary
    assert set(summary) == set(formats.schema("run_metrics")["properties"])  # every described key is written
    assert summary["task"] == task and summary["state"] == "finished" and summary["source_live"] is False
    expected = {"classify": {"b": 2}, "detect": {"3": 3}}[task]
    assert summary["label_counts"] == expected and ("render" in summary["stages"]) == bool(outputs)
    assert all(st["count"] == summary["frames"] for st in summary["stages"].values())


# ---- broken documents -----------------------------------------------------------------------

def sidecar_doc():
    return json.loads(detector_info().to_json())


def metrics_doc():
    metrics = classification_metrics([0, 1, 1, 0], [0, 1, 0, 0], ["Egyptian cat", "dog"])
    return {"task": "classify", **metrics, "pruning": {"target": 0.5, "global_sparsity": 0.5, "layers": {
        "conv/kernel": {"sparsity": 0.5, "zeros": 8, "weights": 16}}}, "epochs": 3, "train_seconds": 12.5}


def export_doc():
    artifact = {"path": "out/model_int8.tflite", "format": "tflite", "quantization": "int8", "size_bytes": 1000,
                "gzip_bytes": 800, "size_ratio": 0.25, "map50": None, "top1_agreement": 0.98, "accuracy": 0.9,
                "accuracy_drop": 0.01, "max_abs_diff": None, "disagreements": 4, "near_ties": 1, "latency_ms": 1.5,
                "passed": True, "failures": []}
    return {"source": "/runs/model.keras", "passed": True, "fp32_weight_bytes": 4000,
            "evaluation": {"images": 200, "source": "synthetic:shapes (val)"}, "calibration": None,
            "min_agreement": 0.97, "seconds": 10.2, "stage_seconds": {"load": 1.0}, "artifacts": [artifact],
            "onnx_int8_saturating_cpu": None}


def bench_doc():
    from tests.bench.test_report import bench_doc as two_device_doc

    return two_device_doc("laptop", 1)


def run_metrics_doc():
    stage = {"mean": 1.5, "std": 0.25, "min": 1.0, "p50": 1.5, "p90": 1.75, "p99": 2.0, "max": 2.0, "count": 24}
    return {"stages": {name: dict(stage) for name in ("capture", "preprocess", "inference", "postprocess")},
            "fps": {"rolling": 30.5, "overall": 29.0}, "frames": 24, "dropped": 0, "elapsed_s": 0.9,
            "rss_mb": 120.5, "peak_rss_mb": 130.0, "model": "models/m.tflite", "model_name": "m.tflite",
            "model_size_bytes": 4000, "task": "classify", "source": "clip.mp4", "source_live": False,
            "frames_read": 24, "state": "finished", "outputs": [], "label_counts": {"Egyptian cat": 24}}


def set_at(document, path, value):
    *parents, last = path
    node = document
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return document


BROKEN = [
    ("sidecar", sidecar_doc, ("labels",), KeyError, "$ lacks labels"),
    ("sidecar", sidecar_doc, ("input_size", 0), "64", '$.input_size[0] is a string ("64"), not integer'),
    ("sidecar", sidecar_doc, ("task",), "segment", '$.task is a string ("segment"), not one of "classify", "detect"'),
    ("sidecar", sidecar_doc, ("quantization",), "int4",
     '$.quantization is a string ("int4"), not one of "none", "fp16", "dynamic", "int8"'),
    ("sidecar", sidecar_doc, ("anchors", 2), [0.5, 0.5, 0.2], "$.anchors[2] has 3 item(s), needs at least 4"),
    ("metrics", metrics_doc, ("test_accuracy",), KeyError, "$ lacks test_accuracy"),
    ("metrics", metrics_doc, ("per_class", "Egyptian cat", "support"), "2",
     '$.per_class["Egyptian cat"].support is a string ("2"), not integer'),
    ("metrics", metrics_doc, ("task",), "segment", '$.task is a string ("segment"), not one of "classify", "detect"'),
    ("export_report", export_doc, ("artifacts", 0, "gzip_bytes"), KeyError, "$.artifacts[0] lacks gzip_bytes"),
    ("export_report", export_doc, ("passed",), "yes", '$.passed is a string ("yes"), not boolean'),
    ("export_report", export_doc, ("artifacts", 0, "format"), "tensorrt",
     '$.artifacts[0].format is a string ("tensorrt"), not one of "tflite", "onnx"'),
    ("bench", bench_doc, ("results", 1, "latency_ms"), KeyError, "$.results[1] lacks latency_ms"),
    ("bench", bench_doc, ("results", 0, "threads"), "2", '$.results[0].threads is a string ("2"), not integer'),
    ("bench", bench_doc, ("results", 2, "quantization"), "int4",
     '$.results[2].quantization is a string ("int4"), not one of "none", "fp16", "dynamic", "int8", null'),
    ("bench", bench_doc, ("results", 0, "latency_ms", "p50"), [1], "$.results[0].latency_ms.p50 is an array of 1, "
     "not number or null"),
    ("run_metrics", run_metrics_doc, ("label_counts",), KeyError, "$ lacks label_counts"),
    ("run_metrics", run_metrics_doc, ("stages", "inference", "p99"), None,
     "$.stages.inference.p99 is null, not number"),
    ("run_metrics", run_metrics_doc, ("state",), "done",
     '$.state is a string ("done"), not one of "starting", "running", "finished"'),
    ("run_metrics", run_metrics_doc, ("label_counts", "Egyptian cat"), 2.5,
     '$.label_counts["Egyptian cat"] is a number (2.5), not integer'),
]


@pytest.mark.parametrize("kind, make, path, value, expected", BROKEN,
                         ids=[f"{b[0]}:{formats.json_path(b[2])}" for b in BROKEN])
def test_a_broken_document_gets_one_line_naming_the_file_and_the_json_path(kind, make, path, value, expected):
    assert_valid(kind, make())
    broken = set_at(make(), path, value)
    for engine in ("jsonschema", "builtin"):
        assert formats.problem(kind, broken, engine) == expected, engine
    with pytest.raises(UserError) as error:
        formats.validate(kind, broken, source="somewhere/file.json")
    title = formats.schema(kind)["title"]
    assert str(error.value) == f"somewhere/file.json is not an {title} ({expected}); {formats.KINDS[kind]}"


def test_both_checkers_find_the_same_problems_in_every_broken_document():
    for kind, make, path, value, _ in BROKEN:
        broken = set_at(make(), path, value)
        assert formats.errors(kind, broken, "jsonschema") == formats.errors(kind, broken, "builtin")
    nonsense = [None, [], "text", 3, {"results": 5}, {"device": [], "results": [1, {"threads": 0}]}]
    for kind in formats.KINDS:
        for document in nonsense:
            assert formats.errors(kind, document, "jsonschema") == formats.errors(kind, document, "builtin")


def test_compare_with_a_malformed_bench_json_exits_2_with_that_line(cli, tmp_path):
    good, bad = tmp_path / "a" / "bench.json", tmp_path / "b" / "bench.json"
    for path, doc in ((good, bench_doc()), (bad, set_at(bench_doc(), ("results", 0, "threads"), "2"))):
        path.parent.mkdir()
        path.write_text(json.dumps(doc))
    result = cli("bench", "--compare", good, bad, "--report", tmp_path / "cmp")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.strip().endswith(f"{bad} is not an edgevision bench report "
                                          f'($.results[0].threads is a string ("2"), not integer); '
                                          "pass a bench.json written by `edgevision bench --report DIR`")
    assert not (tmp_path / "cmp" / "bench.json").exists()


def test_predict_with_a_broken_sidecar_exits_2_naming_the_file_and_the_key(cli, tmp_path):
    model = write_constant_onnx(tmp_path / "m.onnx", ["a", "b"], answer=0)
    sidecar = model.with_suffix(".json")
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), "output_layout": "heatmap"}))
    image = tmp_path / "x.png"
    _write_png(image)
    result = cli("predict", model, image)
    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and str(sidecar) in line
    assert '$.output_layout is a string ("heatmap"), not one of "probabilities"' in line


def _write_png(path):
    import cv2
    import numpy as np

    cv2.imwrite(str(path), np.zeros((16, 16, 3), np.uint8))


def test_reading_a_sidecar_imports_no_jsonschema(tmp_path):
    write_sidecar(tmp_path / "m.tflite", detector_info())
    code = ("import sys\nfrom edgevision.metadata import read_sidecar\n"
            f"assert read_sidecar({str(tmp_path / 'm.tflite')!r}).task == 'detect'\n"
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_pip_install_ships_the_schemas_and_they_load_from_the_installed_package(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "edgevision", source / "edgevision", ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    code = ("import edgevision.formats as f\n"
            f"assert f.__file__.startswith({str(target)!r}), f.__file__\n"
            "print(sorted(k for k in f.KINDS if f.schema(k)['$schema'].endswith('2020-12/schema')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(formats.KINDS))
