"""Transfer learning for image classification, in two phases as in Keras' guide
"Transfer learning & fine-tuning" and TensorFlow's MobileNetV2 tutorial:

1. a new classification head on the frozen backbone (its BatchNorm layers frozen too, so they
   run in inference mode), at `learning_rate`. Without augmentation the backbone's output for
   each image never changes, so each image goes through it once and the head trains on those
   features (`features.py`): 20 epochs by default cost less than one end-to-end epoch. At its end
   the head takes back the weights of its best validation epoch (EarlyStopping's
   `restore_best_weights`), so that phase 2 starts from the best head, not the last;
2. fine-tuning of the top 15% of the backbone's layers (all of it with `--prune`), BatchNorm
   still frozen, at a fiftieth of the head's rate, warmed up linearly over the first epoch and
   then decayed along a cosine to 0, with flip/rotation/zoom/contrast augmentation in the input
   pipeline, and an exponential moving average of the weights copied into the model after each
   epoch; with `--prune` the magnitude-pruning callback raises sparsity during this phase
   (at a tenth of the rate, without the average).

Why phase 2 is this gentle: a converged head leaves small gradients, and Adam turns them into
steps of the full learning rate on every unfrozen weight; with BatchNorm frozen nothing
renormalises the result (MobileNetV2's frozen BatchNorm multiplies some channels by 40-75), so
a tenth of the head's rate on a third of the backbone lost up to 4 points of validation accuracy
on real photos (hymenoptera) within one epoch; at a fiftieth, warmed up, on the top 15%, it keeps them.

With `weights=None` there is no pretrained backbone to protect: every layer trains in both
phases (5 + 5 epochs by default, phase 2 at a tenth of the rate, as with `--prune`) and BatchNorm momentum is
lowered to 0.9 so its moving statistics settle within a few hundred steps. GoogLeNet trains
with its two auxiliary classifiers (loss weight 0.3, as in the paper); the saved model is the
inference model without them.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from edgevision import atomic
from edgevision.data import describe_source, load_images
from edgevision.data.folders import SPLIT
from edgevision.errors import UserError
from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.train import features, pruning, report, run_folder
from edgevision.train.distribute import make_strategy
from edgevision.train.inputs import make_dataset
from edgevision.train.options import check_schedule

FINE_TUNE_FRACTION = 0.15  # of the backbone's layers unfrozen in phase 2 (pretrained weights)
FINE_TUNE_LR_FACTOR = 0.02  # phase 2's peak rate over the head's (pretrained weights)
WEIGHT_AVERAGE_MOMENTUM = 0.9  # of phase 2's moving average of the weights (pretrained weights)
RETRAIN_LR_FACTOR = 0.1  # phase 2's rate over phase 1's when every layer retrains: from scratch, or pruning
CACHED_HEAD_EPOCHS = 20  # default phase 1 epochs when the head trains on cached features
DEFAULT_EPOCHS = 5  # default phase 1 epochs otherwise, and phase 2's
AUX_LOSS_WEIGHT = 0.3


@dataclass
class TrainConfig:
    model: str
    data: str
    out: str
    alpha: float = 1.0
    input_size: int | None = None
    weights: str | None = None  # None, "imagenet" or a path
    epochs: int | None = None  # None: CACHED_HEAD_EPOCHS or DEFAULT_EPOCHS (see resolve_epochs)
    fine_tune_epochs: int = DEFAULT_EPOCHS
    prune: float = 0.0
    strategy: str = "default"
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float | None = None  # None: a factor of learning_rate (_learning_rate)
    seed: int = 0


def validate(config: TrainConfig):
    """UserError (one line) for anything that cannot work, before TensorFlow is imported."""
    from edgevision.data import synthetic
    from edgevision.models.registry import check_alpha, check_input_size, check_weights, get_spec

    spec = get_spec(config.model)
    if spec.task != "classify":
        raise UserError(f"{config.model} is a {spec.task} model: train it with --task {spec.task}")
    config.alpha = check_alpha(spec, config.alpha)
    size = check_input_size(spec, config.input_size)
    check_weights(spec, config.weights, size)
    if config.epochs is None:
        config.epochs = resolve_epochs(spec, config.weights)
    check_schedule(config)
    if synthetic.is_synthetic(config.data):
        try:
            synthetic.parse_source(config.data)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    elif not Path(config.data).expanduser().is_dir():
        raise UserError(
            f"data folder {config.data} does not exist: pass a folder with one sub-folder per class, or synthetic:shapes"
        )
    return spec, size


def resolve_epochs(spec, weights) -> int:
    """Default phase 1 epochs: more where the head trains on cached features (pretrained, one head)."""
    pretrained = weights not in (None, "none")
    return CACHED_HEAD_EPOCHS if pretrained and spec.name != "googlenet" else DEFAULT_EPOCHS


def train_classifier(config: TrainConfig, resume=False, overwrite=False, log=print) -> dict:
    """Train, write the run folder, return the summary (see `edgevision train --help`)."""
    return run_folder.train_in(config, resume, overwrite, log, validate=validate, train=_train)


def _train(config, spec, size, out, state, log) -> dict:
    started = time.perf_counter()

    data = {split: load_images(config.data, split, size, config.seed) for split in ("train", "val", "test")}
    class_names = data["train"][2]
    for split in ("val", "test"):
        if len(data[split][1]) == 0:
            raise UserError(f"{config.data} gives no {split} images: add images (3 or more per class) or a {split}/ folder")

    import keras

    keras.utils.set_random_seed(config.seed)
    strategy = make_strategy(config.strategy)
    if config.strategy != "default":
        log(f"edgevision train: {config.strategy} strategy, {strategy.num_replicas_in_sync} replicas in sync")
    trainer = _Trainer(config, spec, size, class_names, out, strategy, state)
    with run_folder.InterruptFlag() as interrupt:
        finished = trainer.fit(data, interrupt)
    if not finished:
        log(f"edgevision train: interrupted: checkpoint saved in {out / run_folder.CHECKPOINT}; "
            f"continue with `edgevision train --out {out} --resume`")
        return {"interrupted": True, "out": str(out)}
    summary = trainer.finish(data["test"], time.perf_counter() - started)
    return summary


class _Trainer:
    def __init__(self, config, spec, size, class_names, out, strategy, state):
        self.config, self.spec, self.size, self.class_names = config, spec, size, class_names
        self.out, self.strategy = out, strategy
        self.pretrained = config.weights not in (None, "none")
        state = state or {}
        self.epochs_done = state.get("epochs_done", 0)
        self.state_phase = state.get("phase")
        self.best = state.get("best_val_accuracy")
        self.history = state.get("history", {})
        self.elapsed_before = state.get("elapsed_seconds", 0.0)
        self.resuming = bool(state)
        self.started = time.perf_counter()
        self.pruner = None
        self.optimizer = None
        self.phase = None
        with strategy.scope():
            self.model = self._build()
            # Phase 1 trains the head on features computed once (pretrained backbones only: from
            # scratch every layer trains in phase 1).
            self.head = features.head_model(self.model) if self.pretrained else None
        self.num_outputs = len(self.model.outputs)

    def _build(self):
        import keras

        from edgevision.models.registry import build_model

        extra = {"training_heads": True} if self.spec.name == "googlenet" else {}
        weights = None if not self.pretrained else self.config.weights
        model = build_model(
            self.config.model, num_classes=len(self.class_names), input_size=self.size,
            alpha=self.config.alpha, weights=weights, **extra,
        )
        if not self.pretrained:
            for layer in _all_layers(model):
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.momentum = min(layer.momentum, 0.9)
        return model

    # -- phases -------------------------------------------------------------------------------

    def _set_trainable(self, phase):
        import keras

        backbone = self.model.get_layer("backbone")
        if not self.pretrained:
            self.model.trainable = True
            return
        self.model.trainable = True
        if phase == 1:
            backbone.trainable = False
            return
        backbone.trainable = True
        layers = backbone.layers
        first = 0 if self.config.prune > 0 else int(len(layers) * (1 - FINE_TUNE_FRACTION))
        for i, layer in enumerate(layers):
            # Pretrained BatchNorm stays frozen, i.e. in inference mode (Keras' fine-tuning advice).
            layer.trainable = i >= first and not isinstance(layer, keras.layers.BatchNormalization)

    def _compile(self, phase):
        import keras

        with self.strategy.scope():
            self.optimizer = keras.optimizers.Adam(self._learning_rate(phase), **self._weight_averaging(phase))
            if self.num_outputs == 1:
                target = self.head if phase == 1 and self.head is not None else self.model
                target.compile(self.optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)
            else:
                n = self.num_outputs
                self.model.compile(
                    self.optimizer,
                    loss=["sparse_categorical_crossentropy"] * n,
                    loss_weights=[1.0] + [AUX_LOSS_WEIGHT] * (n - 1),
                    metrics=[["accuracy"]] + [[] for _ in range(n - 1)],
                    jit_compile=False,
                )

    def _learning_rate(self, phase):
        """Phase 1: the head's rate. Phase 2 on a pretrained backbone: `fine_tune_learning_rate`, by
        default a fiftieth of it, warmed up over the first epoch and decayed along a cosine; where
        every layer retrains (from scratch, or pruning, which must recover from the zeroed weights):
        constant, by default a tenth."""
        import keras

        config = self.config
        if phase == 1:
            return config.learning_rate
        if not self.pretrained or config.prune > 0:
            return config.fine_tune_learning_rate or config.learning_rate * RETRAIN_LR_FACTOR
        epoch_steps = math.ceil(self.train_count / config.batch_size)
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, epoch_steps * (config.fine_tune_epochs - 1)),
            warmup_target=config.fine_tune_learning_rate or config.learning_rate * FINE_TUNE_LR_FACTOR,
            warmup_steps=epoch_steps,
        )

    def _weight_averaging(self, phase) -> dict:
        """Phase 2 on a pretrained backbone trains with an exponential moving average of the weights
        (Keras' `use_ema`), copied into the model after each epoch's last step: validation, the saved
        model and the next epoch see the average. Without it, even at a fiftieth of the rate, the last
        epoch on hymenoptera ended one to three photos below phase 1's best in most runs; with it, at
        phase 1's best in every run (docs/training.md). Not with --prune, whose masked weights must
        stay zero, nor where every layer retrains."""
        if phase == 1 or not self.pretrained or self.config.prune > 0:
            return {}
        return {"use_ema": True, "ema_momentum": WEIGHT_AVERAGE_MOMENTUM,
                "ema_overwrite_frequency": math.ceil(self.train_count / self.config.batch_size)}

    def fit(self, data, interrupt) -> bool:
        """Run the remaining epochs of both phases; False when Ctrl-C stopped it (checkpoint saved)."""
        config = self.config
        phases = ((1, 0, config.epochs), (2, config.epochs, config.epochs + config.fine_tune_epochs))
        self.train_count = len(data["train"][1])
        restored = not self.resuming
        for phase, first, last in phases:
            if last <= first or self.epochs_done >= last:
                continue
            self.phase = phase
            self._set_trainable(phase)
            self._compile(phase)
            if not restored:
                with self.strategy.scope():
                    run_folder.restore_checkpoint(
                        self.out, self.model, self.optimizer if self.state_phase == phase else None
                    )
                restored = True
            stopped = self._fit_phase(phase, first, last, data, interrupt)
            if stopped:
                self._save_checkpoint()
                return False
        if config.prune > 0 and self.pruner is not None and self.best is None:
            self.pruner.finish()
            self._save_best(float("nan"))
        return True

    def _fit_phase(self, phase, first, last, data, interrupt) -> bool:

        config = self.config
        info = self.model_info()
        train_x, train_y, _ = data["train"]
        train = make_dataset(train_x, train_y, config.batch_size, info, training=True,
                             augment=phase == 2, seed=config.seed + phase, num_outputs=self.num_outputs)
        val = make_dataset(*data["val"][:2], config.batch_size, info, num_outputs=self.num_outputs)
        fitted = self.model
        if phase == 1 and self.head is not None:
            train, val = self._feature_datasets(data, seed=config.seed + phase)
            fitted = self.head
        steps = math.ceil(len(train_x) / config.batch_size)
        callbacks = []
        self.pruner = None
        if phase == 2 and config.prune > 0:
            self.pruner = pruning.fine_tuning_callback(config.prune, steps, last - first, self.epochs_done - first)
            callbacks.append(self.pruner)
        callbacks.append(run_folder.stop_and_epoch_callback(interrupt, self._end_epoch))
        verbose = 1 if sys.stderr.isatty() else 2
        with contextlib.redirect_stdout(sys.stderr):
            try:
                fitted.fit(train, validation_data=val, epochs=last, initial_epoch=max(first, self.epochs_done),
                               callbacks=callbacks, verbose=verbose, shuffle=False)  # the datasets shuffle
            except run_folder.StopRequested:
                pass
        phase_1_done = fitted is self.head and self.epochs_done == last
        if phase_1_done and config.fine_tune_epochs and self._fine_tunes_best_head():
            self._report_best_head(val)
        return interrupt.requested

    def _report_best_head(self, val):
        """Say which phase 1 epoch fine-tuning starts from, with the head's validation accuracy now."""
        accuracy = self.head.evaluate(val, verbose=0, return_dict=True)["accuracy"]
        phase_1 = [v for v, p in zip(self.history["val_accuracy"], self.history["phase"], strict=True) if p == 1]
        epoch = phase_1.index(max(phase_1)) + 1
        print(f"edgevision train: fine-tuning starts from epoch {epoch} of {len(phase_1)}, the best: "
              f"validation accuracy {100 * accuracy:.1f}%", file=sys.stderr)

    def _feature_datasets(self, data, seed):
        """(train, val) datasets of the frozen backbone's features, each image through it once."""
        config, info = self.config, self.model_info()
        backbone = self.model.get_layer("backbone")
        started = time.perf_counter()
        cached = {}
        for split in ("train", "val"):
            images, labels, _ = data[split]
            dataset = make_dataset(images, labels, config.batch_size, info)
            cached[split] = (features.backbone_features(backbone, dataset), labels)
        print(f"edgevision train: backbone features of {len(data['train'][1]) + len(data['val'][1])} images "
              f"computed once in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return (features.feature_dataset(*cached["train"], config.batch_size, training=True, seed=seed),
                features.feature_dataset(*cached["val"], config.batch_size))

    def _end_epoch(self, epoch, logs):
        import keras

        self.epochs_done = epoch + 1
        row = _epoch_logs(logs)
        row["phase"] = self.phase
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        row["sparsity"] = round(self.pruner.current_sparsity, 6) if self.pruner else 0.0
        for key, value in row.items():
            self.history.setdefault(key, []).append(value)
        eligible = self.config.prune == 0 or (
            self.pruner is not None and self.pruner.current_sparsity >= self.config.prune - 1e-9
        )
        if eligible and (self.best is None or row["val_accuracy"] > self.best):
            self._save_best(row["val_accuracy"])
        if self.phase == 1 and self.epochs_done == self.config.epochs and self._fine_tunes_best_head():
            with self.strategy.scope():
                self.model.load_weights(self.out / "model.keras")
        self._save_checkpoint()

    def _fine_tunes_best_head(self) -> bool:
        """Whether phase 2 starts from the head of phase 1's best epoch rather than its last, as
        keras.callbacks.EarlyStopping(restore_best_weights=True) does: where the head trained on
        cached features (pretrained, one output), and not with --prune, whose model.keras waits for
        full sparsity.
        The weights come from model.keras, which holds that epoch, resumed or not: phase 1 froze
        the backbone, so only the head's weights change."""
        return self.head is not None and self.config.prune == 0 and (self.out / "model.keras").is_file()

    # -- files --------------------------------------------------------------------------------

    def inference_model(self):
        from edgevision.models.registry import inference_model

        return inference_model(self.model)

    def _save_best(self, val_accuracy):
        self.best = val_accuracy
        with atomic.atomic_path(self.out / "model.keras") as tmp:
            self.inference_model().save(tmp)
        write_sidecar(self.out / "model.keras", self.model_info())
        atomic.write_text(self.out / "labels.txt", "".join(f"{name}\n" for name in self.class_names))

    def _save_checkpoint(self):
        state = {
            "task": "classify", "config": asdict(self.config), "phase": self.phase, "epochs_done": self.epochs_done,
            "best_val_accuracy": self.best, "history": self.history,
            "elapsed_seconds": self.elapsed_before + time.perf_counter() - self.started,
        }
        run_folder.save_checkpoint(self.out, self.model, self.optimizer, state)

    def model_info(self) -> ModelInfo:
        config = self.config
        return ModelInfo(
            task="classify",
            input_size=tuple(self.size),
            labels=list(self.class_names),
            mean=tuple(self.spec.mean),
            std=tuple(self.spec.std),
            color_order="RGB",
            output_layout="probabilities",
            architecture=self.spec.name,
            alpha=config.alpha,
            format="keras",
            quantization="none",
            extra={
                "data": {"source": describe_source(config.data), "seed": config.seed, "split": list(SPLIT)},
                "weights": config.weights or "none",
                "prune": config.prune,
                "epochs": config.epochs,
                "fine_tune_epochs": config.fine_tune_epochs,
            },
        )

    def finish(self, test, seconds) -> dict:
        """Evaluate the best checkpoint on the test split; write metrics, plots, history; drop the checkpoint."""
        import keras

        out, config = self.out, self.config
        best = keras.models.load_model(out / "model.keras")
        images, labels, _ = test
        dataset = make_dataset(images, labels, config.batch_size, self.model_info())
        probabilities = best.predict(dataset.map(lambda x, y: x), verbose=0)
        metrics = report.classification_metrics(labels, np.argmax(probabilities, axis=-1), self.class_names)
        sparsity = pruning.sparsity_report(best)
        total_seconds = self.elapsed_before + seconds
        result = {"task": "classify", **metrics, "pruning": {"target": config.prune, **sparsity},
                  "epochs": len(self.history.get("loss", [])), "train_seconds": round(total_seconds, 1)}
        atomic.write_json(out / "metrics.json", result)
        atomic.write_json(out / "history.json", self.history)
        report.plot_history(self.history, out / "training_curves.png")
        report.plot_confusion(metrics["confusion_matrix"], self.class_names, out / "confusion_matrix.png")
        write_sidecar(out / "model.keras", self.model_info())
        run_folder.remove_checkpoint(out)
        return {
            "model": str(out / "model.keras"), "architecture": self.spec.name, "alpha": config.alpha,
            "input_size": list(self.size), "data": config.data, "test_accuracy": metrics["test_accuracy"],
            "global_sparsity": sparsity["global_sparsity"], "epochs": result["epochs"], "seconds": result["train_seconds"],
        }


def _epoch_logs(logs: dict) -> dict:
    """loss/accuracy/val_loss/val_accuracy of the main output, whatever Keras named them."""
    def pick(prefix):
        if f"{prefix}accuracy" in logs:
            return float(logs[f"{prefix}accuracy"])
        keys = sorted(k for k in logs if k.endswith("accuracy") and k.startswith(prefix) and (prefix or not k.startswith("val_")))
        return float(logs[keys[0]]) if keys else float("nan")

    return {"loss": float(logs.get("loss", float("nan"))), "accuracy": pick(""),
            "val_loss": float(logs.get("val_loss", float("nan"))), "val_accuracy": pick("val_")}


def _all_layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)
