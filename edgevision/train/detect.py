"""Training SSDLite detectors (`edgevision train --task detect`) into a run folder.

Data: any source `edgevision.data.detection` reads (COCO, VOC, YOLO, synthetic:shapes-det),
resized to the model's input with the boxes. Augmentation moves the boxes with the pixels:
Keras 3's box-aware preprocessing layers (horizontal flip, zoom in and out, translation, colour
jitter) run in the tf.data pipeline, then `ssd_targets.assign_targets` matches boxes to anchors.

Schedule: with pretrained backbone weights, `epochs` train the extra layers and heads on the
frozen backbone at `learning_rate`, then `fine_tune_epochs` train them with the backbone from
FINE_TUNE_FROM on, the rate starting at FINE_TUNE_LR_FACTOR of it (or `fine_tune_learning_rate`)
and decaying along a cosine to zero, the backbone's BatchNorm statistics frozen (`set_trainable`); from scratch every layer
trains in both phases, phase 2 starting at a third of the rate (BatchNorm momentum 0.9 so the
statistics settle quickly). `time_limit` (seconds, counted from the start, data loading
included; `--time` in minutes) stops training after the step that leaves just enough time for
the epoch's validation pass; phase 2 then runs until the limit instead of `fine_tune_epochs`,
one epoch per `fit` call so that Keras' "Epoch i/total" line shows the epochs the time left
allows (`expected_epochs`), and its cosine follows the time left, as Ultralytics' `time=` does.

The run folder holds model.keras (outputs box_encodings [1, N, 4] and class_scores
[1, N, C + 1]), model.json (task "detect", output_layout "ssd_raw", anchors, box_scales),
labels.txt, history.json, training_curves.png and metrics.json (map50, map50_95 on the test split).
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from edgevision import atomic
from edgevision.errors import UserError
from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime.preprocess import normalise
from edgevision.train import pruning, run_folder
from edgevision.train.distribute import make_strategy
from edgevision.train.options import AUGMENTATION, check_schedule

DEFAULT_INPUT_SIZE = 160  # the training default; the anchors of a 320 px SSDLite also serve faces and large objects at 160
# Fine-tuning starts at a thirtieth of the heads' rate: Adam moves every weight by about the rate per
# step, and a pretrained backbone with frozen BatchNorm statistics loses its features at 1e-4.
FINE_TUNE_LR_FACTOR = 1 / 30
SCRATCH_PHASE_2_LR_FACTOR = 1 / 3  # from scratch no pretrained feature is at stake
FINE_TUNE_FROM = "block_6_expand"  # the backbone's first layer that fine-tunes (stride 16 on); None: all
EVAL_SCORE_THRESHOLD = 0.05  # COCO evaluation wants low-score detections too
SPLIT = (0.8, 0.1, 0.1)


@dataclass
class DetectConfig:
    model: str
    data: str
    out: str
    alpha: float = 1.0
    input_size: int | None = None  # None: DEFAULT_INPUT_SIZE
    weights: str | None = None
    epochs: int = 10
    fine_tune_epochs: int = 10
    batch_size: int = 16
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float | None = None  # None: FINE_TUNE_LR_FACTOR (or SCRATCH_PHASE_2_LR_FACTOR) of learning_rate
    seed: int = 0
    time_limit: float | None = None
    augment: str = "flip"
    prune: float = 0.0
    strategy: str = "default"


def validate(config: DetectConfig):
    """UserError (one line) for a model, size or source that cannot work, before TensorFlow loads."""
    from edgevision.data.detection import is_detection_source, scan
    from edgevision.data.detection import synthetic as synthetic_det
    from edgevision.models.registry import check_alpha, check_input_size, check_weights, get_spec

    spec = get_spec(config.model)
    if spec.task != "detect":
        raise UserError(f"{config.model} is a {spec.task} model: choose a detector (ssdlite_mobilenet_v2) for --task detect")
    config.alpha = check_alpha(spec, config.alpha)
    size = check_input_size(spec, config.input_size or DEFAULT_INPUT_SIZE)
    check_weights(spec, config.weights, size)
    check_schedule(config)
    if config.augment not in AUGMENTATION:
        raise UserError(f"--augment {config.augment} is unknown: use one of {', '.join(AUGMENTATION)}")
    if config.time_limit is not None and not config.time_limit > 0:
        raise UserError("--time must be a positive number of minutes")
    if config.time_limit is not None and config.prune > 0:
        raise UserError("--prune reaches its sparsity over a known number of steps: give --fine-tune-epochs, not --time")
    if is_detection_source(config.data):
        synthetic_det.parse_source(config.data)
    elif isinstance(config.data, str) and config.data.startswith("synthetic:"):
        raise UserError(f"{config.data} is not a detection dataset: use synthetic:shapes-det or a COCO/VOC/YOLO dataset")
    else:
        scan(config.data, config.seed)
    return spec, size


def train_detector(config: DetectConfig, resume=False, overwrite=False, log=print) -> dict:
    """Train, write the run folder, return the summary the CLI prints ({"interrupted": True} after Ctrl-C)."""
    return run_folder.train_in(config, resume, overwrite, log, validate=validate, train=_train)


def _train(config, spec, size, out, state, log) -> dict:
    from edgevision.data.detection import load_detection

    started = time.perf_counter()
    progress = _Progress(out, config, state, started)
    data = {split: load_detection(config.data, split, size, config.seed) for split in ("train", "val", "test")}
    class_names = data["train"].class_names
    for split in ("val", "test"):
        if len(data[split].images) == 0:
            raise UserError(f"{config.data} gives no {split} images: add images (10 or more) or a {split}/ folder")

    import keras

    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    if config.strategy != "default":
        log(f"edgevision train: {config.strategy} strategy, {strategy.num_replicas_in_sync} replicas in sync")
    with strategy.scope():
        model = _build(config, size, len(class_names))
    progress.model = model
    anchors = _anchors(size)
    info = model_info(config, spec, size, class_names, anchors)  # training normalises as it describes
    deadline = None if config.time_limit is None else started + config.time_limit - progress.elapsed_before
    with run_folder.InterruptFlag() as interrupt:
        finished = _fit(model, config, info, size, anchors, data, deadline, strategy, progress, interrupt, log)
    if not finished:
        log(f"edgevision train: interrupted: checkpoint saved in {out / run_folder.CHECKPOINT}; "
            f"continue with `edgevision train --out {out} --resume`")
        return {"interrupted": True, "out": str(out)}
    history = progress.history
    seconds = progress.elapsed_before + time.perf_counter() - started

    with atomic.atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    write_sidecar(out / "model.keras", info)
    atomic.write_text(out / "labels.txt", "".join(f"{name}\n" for name in class_names))
    saved = keras.models.load_model(out / "model.keras")  # outside the strategy: evaluation needs no other worker
    metrics = evaluate_keras(saved, data["test"], info, anchors)
    sparsity = pruning.sparsity_report(saved)
    result = {"task": "detect", "map50": round(metrics["map50"], 6), "map50_95": round(metrics["map50_95"], 6),
              "num_test_images": metrics["num_images"], "pruning": {"target": config.prune, **sparsity},
              "epochs": len(history.get("loss", [])), "train_seconds": round(seconds, 1)}
    atomic.write_json(out / "metrics.json", result)
    atomic.write_json(out / "history.json", history)
    plot_curves(history, out / "training_curves.png")
    run_folder.remove_checkpoint(out)
    return {
        "model": str(out / "model.keras"), "architecture": spec.name, "alpha": config.alpha,
        "input_size": list(size), "data": config.data, "map50": result["map50"], "map50_95": result["map50_95"],
        "global_sparsity": sparsity["global_sparsity"], "epochs": result["epochs"], "seconds": result["train_seconds"],
    }


class _Progress:
    """The run's state that a checkpoint keeps (phase, epochs done, history, time spent), saved after
    every epoch and on Ctrl-C with the weights and the optimizer (`run_folder.save_checkpoint`)."""

    def __init__(self, out, config, state, started):
        state = state or {}
        self.out, self.config, self.started = out, config, started
        self.epochs_done = state.get("epochs_done", 0)
        self.saved_phase = state.get("phase")
        self.history = state.get("history", {})
        self.elapsed_before = state.get("elapsed_seconds", 0.0)
        self.resuming = bool(state)
        self.model = self.optimizer = self.phase = None

    def end_epoch(self, epoch, logs):
        import keras

        self.epochs_done = epoch + 1
        row = {"loss": logs.get("loss"), "val_loss": logs.get("val_loss"), "phase": self.phase,
               "learning_rate": float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))}
        for key, value in logs.items():
            if key.endswith("_loss") and key not in row:
                row[key] = value
        for key, value in row.items():
            self.history.setdefault(key, []).append(None if value is None else float(value))
        # A --time run saves its checkpoint on Ctrl-C only: writing one after every epoch (a few
        # seconds each) would come out of its time budget.
        if self.config.time_limit is None:
            self.save_checkpoint()

    def save_checkpoint(self):
        state = {"task": "detect", "config": asdict(self.config), "phase": self.phase,
                 "epochs_done": self.epochs_done, "history": self.history,
                 "elapsed_seconds": self.elapsed_before + time.perf_counter() - self.started}
        run_folder.save_checkpoint(self.out, self.model, self.optimizer, state)


def _build(config, size, num_classes):
    import keras

    from edgevision.models.registry import build_model

    model = build_model(config.model, num_classes=num_classes, input_size=size, alpha=config.alpha,
                        weights=config.weights)
    # The extra layers and heads always start fresh (and the backbone too without weights): with
    # Keras' default momentum 0.99 their moving statistics lag for thousands of steps, and the
    # validation loss (inference mode) stays far above the training loss.
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = min(layer.momentum, 0.9)
    return model


def _anchors(size) -> np.ndarray:
    from edgevision.models.ssdlite import anchor_boxes

    return anchor_boxes(tuple(size))


def _fit(model, config, info, size, anchors, data, deadline, strategy, progress, interrupt, log) -> bool:
    """Run the phases' remaining epochs; False when Ctrl-C stopped training (checkpoint saved)."""
    import keras

    from edgevision.train import ssd_targets

    with strategy.scope():
        training_model = keras.Model(
            model.inputs, [model.get_layer("box_encodings").output, model.get_layer("class_logits").output]
        )
    train = make_detection_dataset(data["train"], config.batch_size, info, size, anchors, augment=config.augment,
                         seed=config.seed)
    val = make_detection_dataset(data["val"], config.batch_size, info, size, anchors)
    pretrained = config.weights is not None
    until_time = deadline is not None  # phase 2 then ends at the time limit, not after fine_tune_epochs
    steps = math.ceil(len(data["train"].images) / config.batch_size)
    epoch_seconds: list[tuple[int, float]] = []  # (phase, seconds) of every epoch so far, validation included

    class PhaseCallback(keras.callbacks.Callback):
        """In phase 2 sets the rate along a cosine from `rate` to 0 over the phase's steps, or over the
        time left before the deadline; stops training in time for the deadline."""

        def __init__(self, phase, rate, decay_steps, step=0):
            super().__init__()
            self.phase, self.rate, self.decay_steps = phase, rate, decay_steps
            self.start = time.perf_counter()
            self.step = step
            self.validation_seconds = self.validation_start = self.epoch_start = 0.0
            self.stopped = False

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            if self.decay_steps:
                done = self.step / self.decay_steps
                if deadline is not None:
                    done = max(done, (time.perf_counter() - self.start) / max(deadline - self.start, 1e-6))
                self.model.optimizer.learning_rate.assign(self.rate * 0.5 * (1 + math.cos(math.pi * min(done, 1.0))))
            self.step += 1

        def on_train_batch_end(self, batch, logs=None):
            # stop early enough for the validation pass that ends the epoch to finish in time
            if deadline is not None and time.perf_counter() + self.validation_seconds > deadline:
                self.model.stop_training = self.stopped = True

        def on_test_begin(self, logs=None):
            self.validation_start = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation_seconds = time.perf_counter() - self.validation_start

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append((self.phase, time.perf_counter() - self.epoch_start))

    verbose = 1 if sys.stderr.isatty() else 2
    restored = not progress.resuming
    phase_2_end = None if until_time else config.epochs + config.fine_tune_epochs
    for phase, first, last in ((1, 0, config.epochs), (2, config.epochs, phase_2_end)):
        done = progress.epochs_done
        if (last is not None and done >= last) or last == first or _past(deadline):
            continue
        set_trainable(model, phase, pretrained, everything=config.prune > 0)
        rate = config.learning_rate if phase == 1 else config.fine_tune_learning_rate or config.learning_rate * (
            FINE_TUNE_LR_FACTOR if pretrained else SCRATCH_PHASE_2_LR_FACTOR)
        with strategy.scope():
            progress.optimizer = keras.optimizers.Adam(rate, clipnorm=10.0)
            training_model.compile(progress.optimizer, loss=[ssd_targets.box_loss, ssd_targets.focal_loss],
                                   jit_compile=False)
        progress.phase = phase
        if not restored:
            with strategy.scope():
                run_folder.restore_checkpoint(progress.out, model,
                                              progress.optimizer if progress.saved_phase == phase else None)
            restored = True
        # phase 2's cosine spans its steps, or (last None) the time left before the deadline
        done_in_phase = max(0, done - first)
        decay_steps = 0 if phase == 1 else math.inf if last is None else (last - first) * steps
        callback = PhaseCallback(phase, rate, decay_steps, step=done_in_phase * steps)
        callbacks = [callback]
        pruner = None
        if phase == 2 and config.prune > 0:
            pruner = pruning.fine_tuning_callback(config.prune, steps, last - first, done_in_phase)
            callbacks.append(pruner)
        callbacks.append(run_folder.stop_and_epoch_callback(interrupt, progress.end_epoch))
        schedule = "constant" if phase == 1 else "cosine decay from"
        length = "epochs until the time limit" if last is None else f"{last - max(first, done)} epoch(s)"
        log(f"edgevision train: phase {phase}: {length}, {steps} steps each, {schedule} learning rate {rate:g}")
        with contextlib.redirect_stdout(sys.stderr):
            try:
                if last is not None:
                    training_model.fit(train, validation_data=val, epochs=last, initial_epoch=max(first, done),
                                       callbacks=callbacks, verbose=verbose, shuffle=False)
                while last is None and not callback.stopped and not _past(deadline):
                    # One epoch per fit() call, so that Keras' "Epoch i/total" line shows the epochs the
                    # time left allows at the speed measured so far.
                    done = progress.epochs_done
                    total = done + 1 + expected_epochs(deadline, epoch_seconds, phase)
                    training_model.fit(train, validation_data=val, epochs=total, initial_epoch=done,
                                       callbacks=[*callbacks, _one_epoch_callback()], verbose=verbose,
                                       shuffle=False)
            except run_folder.StopRequested:
                pass
        if interrupt.requested:
            progress.save_checkpoint()
            return False
        if pruner is not None and pruner.current_sparsity < config.prune:
            pruner.finish()
    if until_time:
        log(f"edgevision train: stopped at the --time limit after {progress.epochs_done} epoch(s)")
    return True


def expected_epochs(deadline, epoch_seconds, phase) -> int:
    """Whole epochs still expected to fit before the deadline after the one starting now, at the
    mean speed of this phase's last epochs, its first (graph building) left out; else the last epoch
    of the phase before; 0 before any epoch was measured."""
    this = [s for p, s in epoch_seconds if p == phase]
    seconds = this[1:] or [s for p, s in epoch_seconds if p != phase][-1:] or this
    if deadline is None or not seconds:
        return 0
    epoch = sum(seconds[-3:]) / len(seconds[-3:])
    return max(0, int((deadline - time.perf_counter() - epoch) // epoch))


def _one_epoch_callback():
    import keras

    class OneEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    return OneEpoch()


def set_trainable(model, phase: int, pretrained: bool, everything: bool = False):
    """Which weights train: phase 1 with pretrained weights trains the extra layers and the heads on
    the frozen backbone; phase 2 also the backbone from FINE_TUNE_FROM on. A pretrained backbone's
    BatchNorm layers stay frozen (inference mode, ImageNet statistics) in both phases: batches of
    16 give noisy statistics, and int8 calibration wants the statistics the model was trained with.
    From scratch every layer trains in both phases; with `everything` (pruning, which must recover
    from the zeroed weights) phase 2 trains the whole backbone, BatchNorm still frozen."""
    import keras

    backbone = model.get_layer("backbone")
    if not pretrained:
        backbone.trainable = True
        return
    backbone.trainable = phase == 2
    if phase == 2:
        reached = FINE_TUNE_FROM is None or everything
        for layer in backbone.layers:
            reached = reached or layer.name == FINE_TUNE_FROM
            if not reached or isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False


def _past(deadline) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def make_detection_dataset(split_data, batch_size, info, size, anchors, *, augment=None, seed=0):
    """tf.data of (images normalised as `info` describes, (box targets, class targets)); with
    `augment` (a level of AUGMENTATION) the training order is shuffled and the boxes move with the pixels."""
    import tensorflow as tf

    from edgevision.train import ssd_targets

    images, boxes, labels = pad_boxes(split_data)
    dataset = tf.data.Dataset.from_tensor_slices(
        {"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}}
    ).cache()
    training = augment is not None
    if training:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=training and len(images) >= batch_size)
    options = tf.data.Options()  # in-memory data: a multiworker run shards it by element
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = dataset.with_options(options)
    layers = augmentation(augment, seed) if training else []

    def prepare(batch):
        batch = {"images": tf.cast(batch["images"], tf.float32), "bounding_boxes": batch["bounding_boxes"]}
        for layer in layers:
            batch = layer(batch, training=True)
        x = normalise(batch["images"], info)
        targets = ssd_targets.assign_targets(
            anchors, batch["bounding_boxes"]["boxes"], batch["bounding_boxes"]["labels"], size
        )
        return x, targets

    return dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def augmentation(level: str, seed: int):
    """Keras preprocessing layers that carry "xyxy" boxes along with the pixels (0..255 images):
    "full" flips, zooms in and out, translates and jitters colours; "flip" only flips; "none"."""
    import keras

    fmt = "xyxy"
    flip = keras.layers.RandomFlip("horizontal", bounding_box_format=fmt, seed=seed)
    if level != "full":
        return [flip] if level == "flip" else []
    return [
        flip,
        keras.layers.RandomZoom((-0.25, 0.35), fill_mode="constant", bounding_box_format=fmt, seed=seed + 1),
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", bounding_box_format=fmt, seed=seed + 2),
        keras.layers.RandomColorJitter(value_range=(0, 255), brightness_factor=0.2, contrast_factor=0.2,
                                       saturation_factor=0.3, hue_factor=0.05, bounding_box_format=fmt,
                                       seed=seed + 3),
    ]


def pad_boxes(split_data):
    """Images and per-image boxes/classes as dense arrays padded to the most boxes per image (label -1)."""
    count = max([len(b) for b in split_data.boxes] + [1])
    n = len(split_data.images)
    boxes = np.zeros((n, count, 4), np.float32)
    labels = np.full((n, count), -1, np.int32)
    for i, (image_boxes, image_classes) in enumerate(zip(split_data.boxes, split_data.classes, strict=True)):
        boxes[i, : len(image_boxes)] = image_boxes
        labels[i, : len(image_classes)] = image_classes
    return split_data.images, boxes, labels


def evaluate_keras(model, split_data, info, anchors, batch_size=16) -> dict:
    """COCO mAP of the Keras model on one split (see `coco_eval.coco_map`)."""
    from edgevision.data.detection.coco_eval import coco_map, detections_from_raw

    encodings, scores = model.predict(normalise(split_data.images, info), batch_size=batch_size, verbose=0)
    size = split_data.images.shape[1:3]
    detections = [detections_from_raw(e, s, anchors, size, score_threshold=EVAL_SCORE_THRESHOLD)
                  for e, s in zip(encodings, scores, strict=True)]
    truth = list(zip(split_data.boxes, split_data.classes, strict=True))
    return coco_map(truth, detections)


def model_info(config, spec, size, class_names, anchors) -> ModelInfo:
    from edgevision.data import describe_source
    from edgevision.runtime.detection import BOX_CODER_SCALES

    source = config.data if str(config.data).startswith("synthetic:") else describe_source(config.data)
    return ModelInfo(
        task="detect",
        input_size=tuple(size),
        labels=list(class_names),
        mean=tuple(spec.mean),
        std=tuple(spec.std),
        color_order="RGB",
        output_layout="ssd_raw",
        architecture=spec.name,
        alpha=config.alpha,
        format="keras",
        quantization="none",
        anchors=np.round(anchors, 6).tolist(),
        box_scales=tuple(BOX_CODER_SCALES),
        extra={
            "data": {"source": source, "seed": config.seed, "split": list(SPLIT)},
            "weights": str(config.weights) if config.weights else "none",
            "epochs": config.epochs,
            "fine_tune_epochs": config.fine_tune_epochs,
            "time_limit_seconds": config.time_limit,
            "augment": config.augment,
            "prune": config.prune,
        },
    )


def plot_curves(history: dict, path):
    """Total, box and class loss per epoch, training and validation."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    keys = [k for k in ("loss", "box_encodings_loss", "class_logits_loss") if history.get(k)]
    figure, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], "-o", label="training")
        if history.get("val_" + key):
            ax.plot(epochs, history["val_" + key], "--s", label="validation")
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    with atomic.atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)
