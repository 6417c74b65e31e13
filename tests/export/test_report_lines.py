"""The lines under the export table: near-ties among changed answers, and how ONNX int8 files
must be run (ONNX Runtime's exact int8 products, which x86 CPUs without VNNI need)."""

from edgevision.export import report


def _result(saturating, disagreements=3, near_ties=1):
    artifact = {"path": "/out/model_onnx_int8.onnx", "format": "onnx", "quantization": "int8",
                "size_bytes": 2_600_000, "gzip_bytes": 2_200_000, "size_ratio": 0.29, "top1_agreement": 0.98,
                "accuracy": 0.95, "accuracy_drop": 0.013, "max_abs_diff": None, "latency_ms": 12.0,
                "passed": True, "failures": [], "disagreements": disagreements, "near_ties": near_ties}
    return {"source": "/runs/ants/model.keras", "passed": True, "evaluation": {"images": 153, "source": "val"},
            "calibration": {"images": 200, "source": "train"}, "artifacts": [artifact],
            "onnx_int8_saturating_cpu": saturating}


def test_drop_and_near_ties_are_reported_next_to_agreement():
    text = report.table(_result(saturating=False))
    header, row = text.splitlines()[:2]
    assert header.split()[4:7] == ["agreement", "accuracy", "drop"]
    assert row.split()[6:10] == ["98.00%", "95.00%", "1.3", "pt"]
    assert "model_onnx_int8.onnx: 1 of its 3 disagreements with Keras are near-ties" in text


def test_onnx_int8_files_come_with_the_session_option_they_need():
    line = "ONNX int8 parity measured with the session option session.x64quantprecision=1"
    for saturating in (False, True):
        assert line in report.table(_result(saturating))
        assert line in report.markdown(_result(saturating))
    assert "(this CPU is one)" in report.table(_result(saturating=True))
    assert "(this CPU is one)" not in report.table(_result(saturating=False))
    assert line not in report.markdown(_result(saturating=None))  # no ONNX int8 file


def _detector_result(failures=()):
    artifact = {"path": "/out/model_int8.tflite", "format": "tflite", "quantization": "int8",
                "size_bytes": 1_100_000, "gzip_bytes": 800_000, "size_ratio": 0.39, "map50": 0.612,
                "top1_agreement": None, "accuracy": None, "accuracy_drop": None, "max_abs_diff": None,
                "map50_95": 0.301, "map50_drop": 0.034, "latency_ms": 9.5, "passed": not failures,
                "failures": list(failures)}
    return {"source": "/runs/shapes/model.keras", "task": "detect", "passed": not failures,
            "evaluation": {"images": 20, "source": "val"}, "calibration": {"images": 32, "source": "train"},
            "keras": {"map50": 0.646, "map50_95": 0.322}, "max_map_drop": 0.05, "map_drop_goal": 0.02,
            "postprocess": {"iou_threshold": 0.6, "score_threshold": 0.01, "max_detections": 100},
            "artifacts": [artifact]}


def test_a_detector_report_has_map_columns_and_the_keras_reference():
    text = report.table(_detector_result())
    header, keras_row, row = text.splitlines()[:3]
    assert header.split()[4:7] == ["mAP@.5", "mAP@[.5:.95]", "mAP@.5"]  # the third is "mAP@.5 drop"
    assert keras_row.split()[:6] == ["Keras", "(reference)", "-", "-", "-", "0.646"]
    assert row.split()[6:10] == ["0.612", "0.301", "0.034", "9.50"] and row.split()[-1] == "yes"
    markdown = report.markdown(_detector_result(["mAP@.5 drop 0.034 > 0.02"]))
    assert markdown.startswith("# Export report: model.keras (detector)")
    assert "Keras: mAP@.5 0.646, mAP@[.5:.95] 0.322" in markdown and "int8 mAP@.5 drop at most 0.05" in markdown
    assert "| file | size | gzip | ratio | mAP@.5 | mAP@[.5:.95] | mAP@.5 drop | ms | passed |" in markdown
    assert "**model_int8.tflite failed:** mAP@.5 drop 0.034 > 0.02" in markdown
