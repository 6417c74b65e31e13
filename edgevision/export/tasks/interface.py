"""The shape every task's export object has (`Task`) and the report columns it names (`Column`);
what each field is for: `edgevision.export.tasks`."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Column(NamedTuple):
    """One report column: its title, the artifact key it shows and how (`report.format_value` kind)."""

    title: str
    key: str
    kind: str


class KeepFloat(NamedTuple):
    """How `--keep-float` re-exports and reports a task's int8 TFLite file (`export.keepfloat`)."""

    measure: Column  # the measurement each attempt reports and gains on
    gain: str  # its report key for the gain over plain int8
    custom_op: str | None  # a custom op the graph holds (converted as it is), None for built-ins only
    output_dtype: str | None  # the int8 file's output type, None for `--io-dtype`'s


class Task(NamedTuple):
    """What export does for one task; each field is described in `edgevision.export.tasks`."""

    name: str  # the sidecar's task
    outputs: int
    prepare: Callable
    evaluation_set: Callable
    calibration_set: Callable
    calibration_note: Callable
    reference: Callable
    measure: Callable
    blank: tuple[str, ...]
    check: Callable
    saved_model: Callable
    tflite_converter: Callable
    tflite_extra: Callable
    tflite_metadata: Callable
    onnx_graph: Callable
    onnx_artifact: Callable
    sidecar: Callable
    artifact_extra: Callable
    report_fields: Callable
    report_keys: tuple[str, ...]
    columns: tuple[Column, ...]
    reference_row: Callable
    title: str
    evaluation_line: Callable
    check_lines: Callable
    keep_float: KeepFloat
