"""What export does differently per task, one object per task, chosen by the sidecar's `task`.

`classify.TASK` and `detect.TASK` are `Task`s (`interface.py`): the same small set of pure functions and
constants, which the one export pipeline (`export.pipeline`) and the one report renderer
(`export.report`) call without knowing which task they hold:

- the model: `outputs` (Keras outputs to load), `prepare` (check it against its sidecar, return
  what conversion and measurement need: nothing, or the detector's anchors and post-processing);
- the data: `evaluation_set`, `calibration_set` (held-out and calibration images, with their truth),
  `calibration_note` (what a calibrated file's sidecar records about them);
- the reference and the measurement: `reference` (Keras' answers on the held-out images), `measure`
  (an exported file run by the runtime, against them: agreement/accuracy or mAP), `blank` (the
  measurement keys, null when nothing was measured), `check` (reasons a file fails, from the thresholds);
- the files: `saved_model`, `tflite_converter`, `tflite_extra` and `tflite_metadata`, `onnx_graph`,
  `onnx_artifact`, `sidecar` (the sidecar fields an exported file changes), `artifact_extra`;
- the report: `report_fields` and `report_keys` (the task's keys of export_report.json, in order),
  `columns` (the table), `reference_row`, `title`, `evaluation_line`, `check_lines`;
- `keep_float`: how `--keep-float` re-exports and reports its int8 TFLite file (`KeepFloat`).
"""

from __future__ import annotations

from edgevision.errors import UserError
from edgevision.export.tasks.interface import Column, KeepFloat, Task

__all__ = ["Column", "KeepFloat", "Task", "by_name", "of_model"]


def by_name(name: str) -> Task:
    """The Task for a sidecar's `task` value ("classify" or "detect")."""
    from edgevision.export.tasks import classify, detect

    tasks = {classify.TASK.name: classify.TASK, detect.TASK.name: detect.TASK}
    if name not in tasks:
        raise UserError(f"task {name!r} cannot be exported: the sidecar's task must be one of {', '.join(tasks)}")
    return tasks[name]


def of_model(model_path) -> Task:
    """The Task the sidecar beside `model_path` names (classify when there is none or it is broken:
    `source.describe_source` reports a broken sidecar)."""
    from edgevision.metadata import read_sidecar

    try:
        info = read_sidecar(model_path)
    except ValueError:
        info = None
    return by_name("classify" if info is None else info.task)
