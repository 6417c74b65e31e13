"""`edgevision train`: transfer learning (and optional pruning) into a run folder ready for export."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from edgevision.errors import UserError

NAME = "train"
HELP = "Train a classifier (image folder, synthetic:shapes) or an SSDLite detector (COCO/VOC/YOLO, synthetic:shapes-det)."
ORDER = 20


def configure(parser):
    from edgevision.metadata import TASKS
    from edgevision.train.options import AUGMENTATION, STRATEGIES

    parser.add_argument("--model", help="architecture (see `edgevision models`), e.g. mobilenet_v2")
    parser.add_argument("--data", help="image folder (one sub-folder per class) or synthetic:shapes[:N]")
    parser.add_argument("--out", required=True, help="run folder to write (model.keras, model.json, metrics.json, ...)")
    parser.add_argument("--task", choices=TASKS, default="classify")
    parser.add_argument("--alpha", type=float, default=1.0, help="width multiplier (MobileNets), default 1.0")
    parser.add_argument("--input-size", type=int, default=None,
                        help="input height = width in pixels (default: the model's; detect 160)")
    parser.add_argument("--weights", default="imagenet", help="imagenet | none | PATH of a weights file (default imagenet)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="phase 1 epochs: new head on the frozen backbone (default 20 on cached backbone features "
                             "with pretrained weights, else 5; detect 10)")
    parser.add_argument("--fine-tune-epochs", type=int, default=None,
                        help="phase 2 epochs: fine-tuning with augmentation (default 5; detect 10)")
    parser.add_argument("--prune", type=float, default=0.0, metavar="SPARSITY",
                        help="magnitude-prune this fraction of the weights during fine-tuning, in [0, 1)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="default",
                        help="tf.distribute strategy (multiworker reads TF_CONFIG)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 32; detect 16")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="phase 1 rate (Adam), default 1e-3")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=None, metavar="RATE",
                        help="phase 2's rate, its peak where it decays along a cosine (default with pretrained "
                             "weights: a fiftieth of --learning-rate, detect a thirtieth; else a tenth, detect a third)")
    parser.add_argument("--time", type=float, default=None, metavar="MINUTES",
                        help="detect: train for at most this long, data loading included; phase 2 runs until then "
                             "(overrides --fine-tune-epochs) with its cosine decay spread over the time left")
    parser.add_argument("--augment", choices=AUGMENTATION, default=None,
                        help="detect: training augmentation, boxes moving with the pixels: flip (default), full "
                             "(flip, zoom in/out, shift, colour) or none")
    parser.add_argument("--seed", type=int, default=0, help="data split, synthetic data and initialisation seed")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run in --out")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON document")


DETECT_ONLY = (("--time", "time"), ("--augment", "augment"))  # (flag, attribute) classification refuses
EXAMPLES = {"classify": "--model mobilenet_v2 --data synthetic:shapes",
            "detect": "--model ssdlite_mobilenet_v2 --data synthetic:shapes-det"}


def run(args) -> int:
    task = check_options(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if task == "detect":
        from edgevision.train.detect import DetectConfig as Config
        from edgevision.train.detect import train_detector as train
        from edgevision.train.detect import validate
    else:
        from edgevision.train.classify import TrainConfig as Config
        from edgevision.train.classify import train_classifier as train
        from edgevision.train.classify import validate

    config = Config(
        model=args.model, data=args.data, out=args.out, alpha=args.alpha, input_size=args.input_size,
        weights=None if args.weights.lower() == "none" else args.weights, prune=args.prune, strategy=args.strategy,
        learning_rate=args.learning_rate, seed=args.seed, **task_options(args, task),
    )
    if not args.resume:
        validate(config)  # bad input answers before the TensorFlow import
    summary = train(config, resume=args.resume, overwrite=args.overwrite, log=lambda line: print(line, file=sys.stderr))
    if summary.get("interrupted"):
        return 130
    if args.json:
        print(json.dumps(summary))
        return 0
    if task == "detect":
        score = f"test mAP@.5 {summary['map50']:.3f}, mAP@[.5:.95] {summary['map50_95']:.3f}"
    else:
        score = f"test accuracy {summary['test_accuracy']:.1%}"
    print(
        f"trained {summary['architecture']} (alpha {summary['alpha']:g}, {summary['input_size'][0]} px) on "
        f"{summary['data']}: {score}, sparsity {summary['global_sparsity']:.1%}, "
        f"{summary['epochs']} epochs in {summary['seconds']:.0f} s -> {summary['model']}"
    )
    return 0


def check_options(args) -> str:
    """The one check of the options that depend on the task; returns the task (on --resume, the
    interrupted run's). The values themselves are checked by the task's `validate`."""
    from edgevision.train.run_folder import resumed_task

    task = args.task
    if args.resume:
        task = resumed_task(Path(args.out).expanduser()) or task  # no checkpoint: train() says so
    elif not args.model or not args.data:
        raise UserError(f"give --model and --data, e.g. {EXAMPLES[task]} (or --resume to continue the run in --out)")
    if task != "detect":
        for flag, name in DETECT_ONLY:
            if getattr(args, name) is not None:
                raise UserError(f"{flag} is available with --task detect only: leave it out for classification")
    return task


def task_options(args, task) -> dict:
    """The options the user gave (not None) that the task's config takes, so that it keeps its own defaults."""
    options = _given(args, "epochs", "fine_tune_epochs", "fine_tune_learning_rate", "batch_size")
    if task == "detect":
        options.update(_given(args, "augment"))
        if args.time is not None:
            options["time_limit"] = args.time * 60
    return options


def _given(args, *names) -> dict:
    """The options the user gave (not None), so each task's config keeps its own defaults."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}
