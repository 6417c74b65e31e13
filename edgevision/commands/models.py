"""`edgevision models`: the architectures in the zoo, their size and cost, or one configuration."""

from __future__ import annotations

import json
import math
import os
import sys
import time

NAME = "models"
HELP = "list the model architectures (input size, parameters, multiply-adds, alphas, paper)"
ORDER = 10


def configure(parser):
    parser.add_argument("--name", metavar="MODEL", help="inspect one architecture instead of listing all")
    parser.add_argument("--alpha", type=float, default=1.0, help="width multiplier (with --name; default 1.0)")
    parser.add_argument("--input-size", type=int, metavar="N", help="input size in pixels (with --name)")
    parser.add_argument(
        "--num-classes", type=int, metavar="K", help="classes (default: 1000, detectors 90 + background)"
    )
    parser.add_argument(
        "--weights", metavar="imagenet|none|PATH", help="load these weights too (with --name), to check them"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout")


def run(args) -> int:
    from edgevision.errors import UserError
    from edgevision.models import registry

    if args.name is None:
        if args.alpha != 1.0 or args.input_size is not None or args.weights is not None:
            raise UserError("--alpha, --input-size and --weights describe one model: add --name MODEL")
        specs = registry.list_specs()
        configs = [dict(name=s.name, alpha=1.0, input_size=None, weights=None) for s in specs]
    else:
        spec = registry.get_spec(args.name)
        registry.check_alpha(spec, args.alpha)
        size = registry.check_input_size(spec, args.input_size)
        registry.check_weights(spec, args.weights, size)
        specs = [spec]
        configs = [dict(name=spec.name, alpha=args.alpha, input_size=args.input_size, weights=args.weights)]

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if len(configs) > 1:
        print("building each architecture to count its parameters and multiply-adds...", file=sys.stderr)
    start = time.perf_counter()
    rows = [describe(spec, num_classes=args.num_classes, **config) for spec, config in zip(specs, configs, strict=True)]
    elapsed = time.perf_counter() - start

    if args.json:
        print(json.dumps({"models": rows, "seconds": round(elapsed, 2)}, indent=2))
    elif args.name is None:
        print(format_table(rows))
    else:
        print(format_one(rows[0]))
    return 0


def describe(spec, name, alpha, input_size, weights, num_classes) -> dict:
    """Build one configuration and measure it; the dict is what --json prints."""
    import keras

    from edgevision.models import registry
    from edgevision.models.macs import count_macs

    num_classes = num_classes or spec.default_num_classes
    model = registry.build_model(
        name, num_classes=num_classes, input_size=input_size, alpha=alpha, weights=weights
    )
    row = {
        "name": spec.name,
        "task": spec.task,
        "input_size": list(model.input_shape[1:3]),
        "alpha": alpha,
        "num_classes": num_classes,
        "params": model.count_params(),
        "trainable_params": sum(math.prod(w.shape) for w in model.trainable_weights),
        "macs": count_macs(model),
        "default_input_size": spec.default_input_size,
        "min_input_size": spec.min_input_size,
        "alphas": list(spec.alphas),
        "imagenet_weights": spec.imagenet,
        "mean": list(spec.mean),
        "std": list(spec.std),
        "paper": spec.paper,
        "notes": spec.notes,
        "weights": None if weights is None else str(weights),
    }
    keras.backend.clear_session()
    return row


def short_paper(paper: str) -> str:
    parts = [p.strip() for p in paper.split(",")]
    return f"{parts[0]} ({parts[-1]})" if len(parts) > 1 else paper


def human(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def format_table(rows) -> str:
    header = ("model", "input", "params", "mult-adds", "alphas", "paper")
    lines = [
        (
            r["name"],
            str(r["default_input_size"]),
            f"{r['params']:,}",
            human(r["macs"]),
            " ".join(map(str, r["alphas"])),
            short_paper(r["paper"]),
        )
        for r in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(header, *lines, strict=True)]
    right = {1, 2, 3}

    def fmt(cells):
        cells = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(cells).rstrip()

    notes = [f"  {r['name']}: {r['notes']}" for r in rows if r["notes"]]
    return "\n".join(
        [fmt(header), *map(fmt, lines), "", "1000 classes (detectors: 90) at the default input size, alpha 1.0. Notes:", *notes,
         "Inspect one configuration: edgevision models --name mobilenet_v2 --alpha 0.35 --input-size 96"]
    ).rstrip()


def format_one(r) -> str:
    fields = [
        ("model", r["name"]),
        ("input size", "x".join(map(str, r["input_size"]))),
        ("alpha", f"{r['alpha']:g}"),
        ("classes", str(r["num_classes"])),
        ("parameters", f"{r['params']:,} ({r['trainable_params']:,} trainable)"),
        ("multiply-adds", f"{r['macs']:,} ({human(r['macs'])})"),
        ("input normalisation", f"(pixel - {r['mean'][0]:g}) / {r['std'][0]:g} on 0..255 RGB"),
        ("allowed alphas", " ".join(map(str, r["alphas"]))),
        ("minimum input size", f"{r['min_input_size']} px"),
        ("ImageNet weights", "yes" if r["imagenet_weights"] else "no"),
        ("weights loaded", r["weights"] or "none (random)"),
        ("paper", r["paper"]),
    ]
    if r["notes"]:
        fields.append(("notes", r["notes"]))
    width = max(len(k) for k, _ in fields)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in fields)
