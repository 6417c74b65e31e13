"""The run folder `--out`: who owns it, the resumable checkpoint in it, and Ctrl-C.

A finished run leaves model.keras, model.json, labels.txt, history.json, metrics.json and two
PNGs. While training, `.checkpoint/` holds the last epoch's weights, the optimizer state and
`state.json` (settings, phase, epochs done, best validation accuracy, history); it is written
after every epoch and on Ctrl-C, and removed when the run finishes.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgevision import atomic
from edgevision.errors import UserError

RUN_FILES = (
    "model.keras", "model.json", "labels.txt", "history.json", "metrics.json",
    "training_curves.png", "confusion_matrix.png",
)
CHECKPOINT = ".checkpoint"


def claim(out: Path, resume: bool, overwrite: bool) -> dict | None:
    """Check that `out` may be used; returns the saved state when resuming, else None."""
    state_path = out / CHECKPOINT / "state.json"
    if resume:
        if not state_path.is_file():
            finished = (out / "model.keras").is_file()
            why = "its run finished" if finished else "it holds no interrupted run"
            raise UserError(f"nothing to resume in {out}: {why}; start a new run without --resume")
        try:
            return json.loads(state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{state_path} is unreadable ({exc}): start again with --overwrite") from exc
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file: choose a folder")
    taken = [name for name in (*RUN_FILES, CHECKPOINT) if (out / name).exists()]
    if taken and not overwrite:
        raise UserError(
            f"{out} holds another run ({taken[0]}): pass --overwrite to replace it, "
            "--resume to continue an interrupted one, or choose another --out"
        )
    for name in taken:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return None


def resumed_task(out: Path) -> str | None:
    """The task ("classify", "detect") of the interrupted run in `out`, None when there is none."""
    try:
        state = json.loads((out / CHECKPOINT / "state.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return state.get("task", "classify")  # checkpoints written before detection could resume


def check_resumable(state: dict | None, strategy: str):
    """--resume continues on one machine: the other workers of a multiworker run keep no checkpoint."""
    if state is not None and strategy == "multiworker":
        raise UserError("a multiworker run cannot be resumed (only the chief kept a checkpoint): "
                        "start it again with --overwrite")


def train_in(config, resume: bool, overwrite: bool, log, *, validate, train) -> dict:
    """The run-folder protocol of both tasks: claim `config.out` (or read the interrupted run's state
    and config back), `validate(config) -> (spec, size)`, then `train(config, spec, size, folder, state,
    log) -> summary` in the folder this process writes (the chief's `--out`, see `worker_folder`)."""
    from edgevision.train.distribute import is_chief

    out = Path(config.out).expanduser().resolve()
    state = claim(out, resume, overwrite) if resume else None
    if state is not None:
        config = type(config)(**{**state["config"], "out": str(out)})
    spec, size = validate(config)
    check_resumable(state, config.strategy)
    chief = is_chief(config.strategy)
    if chief and state is None:
        claim(out, resume=False, overwrite=overwrite)
    with worker_folder(out, chief) as folder:
        summary = train(config, spec, size, folder, state, log)
    if not chief and "model" in summary:
        log("edgevision train: this worker is not the chief: the chief writes the run folder")
        summary["model"] = str(out / "model.keras")  # the chief's, where it runs
    return summary


@contextlib.contextmanager
def worker_folder(out: Path, chief: bool):
    """The folder this process writes: `out` on the chief; on the other workers of a multiworker run a
    temporary folder, removed at the end (as TensorFlow's multi-worker guide does for their checkpoints)."""
    if chief:
        yield out
        return
    folder = Path(tempfile.mkdtemp(prefix="edgevision-worker-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def stop_and_epoch_callback(interrupt, on_epoch_end):
    """A Keras callback that leaves `fit` after the batch during which Ctrl-C was pressed (raising
    StopRequested: stop_training would still run validation), and else calls on_epoch_end(epoch, logs)."""
    import keras

    class Progress(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if interrupt.requested:
                raise StopRequested

        def on_epoch_end(self, epoch, logs=None):
            if not interrupt.requested:  # an interrupted epoch is not counted: --resume redoes it
                on_epoch_end(epoch, logs or {})

    return Progress()


class StopRequested(Exception):
    """Raised by the progress callback after the batch during which Ctrl-C was pressed."""


def save_checkpoint(out: Path, model, optimizer, state: dict):
    """Weights, optimizer variables and state.json, each written atomically (state last)."""
    folder = out / CHECKPOINT
    folder.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(folder / "last.weights.h5", suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    arrays = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)} if optimizer else {}
    with atomic.atomic_path(folder / "optimizer.npz") as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
    atomic.write_json(folder / "state.json", state)


def restore_checkpoint(out: Path, model, optimizer) -> bool:
    """Load the saved weights, and the optimizer state when it matches; True if the optimizer was restored."""
    folder = out / CHECKPOINT
    model.load_weights(folder / "last.weights.h5")
    path = folder / "optimizer.npz"
    if optimizer is None or not path.is_file():
        return False
    with np.load(path) as saved:
        arrays = [saved[f"v{i}"] for i in range(len(saved.files))]
    optimizer.build(model.trainable_variables)
    variables = optimizer.variables
    if len(arrays) != len(variables) or any(a.shape != tuple(v.shape) for a, v in zip(arrays, variables, strict=True)):
        return False
    for array, variable in zip(arrays, variables, strict=True):
        variable.assign(array)
    return True


def remove_checkpoint(out: Path):
    shutil.rmtree(out / CHECKPOINT, ignore_errors=True)


class InterruptFlag:
    """While active, the first Ctrl-C asks training to stop after the current batch; a second one aborts."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nedgevision train: stopping after this batch and saving a checkpoint (Ctrl-C again to abort)",
              file=sys.stderr, flush=True)
