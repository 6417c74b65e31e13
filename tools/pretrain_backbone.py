"""Pretrain the demo backbone: MobileNetV2 alpha 0.35 at 96 px on `synthetic:pretext`.

ImageNet weights cannot be downloaded on the build machines, and a MobileNetV2 trained from
scratch needs far more than the 3 epochs that transfer learning is promised to take. So the
project trains its own small "ImageNet": eight shapes (pentagon, hexagon, rhombus, cross,
arrow, ellipse, ring, semicircle) that are all absent from `synthetic:shapes`, drawn on the
same kinds of backgrounds. Only the backbone is kept; `edgevision train --weights
models/mobilenet_v2_0.35_96_pretext.weights.h5` then fine-tunes it on classes it never saw.

    python tools/pretrain_backbone.py                    # writes models/mobilenet_v2_0.35_96_pretext.weights.h5
    python tools/pretrain_backbone.py --images 4000 --epochs 2 --out /tmp/b.weights.h5   # a quick look

Deterministic by seed; prints the pretext test accuracy and the wall time.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_OUT = ROOT / "models" / "mobilenet_v2_0.35_96_pretext.weights.h5"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16000, help="synthetic:pretext images in total (80%% train)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=4e-3, help="peak of the cosine schedule")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    import keras

    from edgevision import atomic
    from edgevision.data import load_images
    from edgevision.metadata import ModelInfo
    from edgevision.models.registry import build_model, get_spec
    from edgevision.train.inputs import make_dataset

    started = time.perf_counter()
    source = f"synthetic:pretext:{args.images}"
    spec = get_spec("mobilenet_v2")
    keras.utils.set_random_seed(args.seed)
    (train_x, train_y, classes), (test_x, test_y, _) = (
        load_images(source, split, 96, args.seed) for split in ("train", "test")
    )
    model = build_model("mobilenet_v2", num_classes=len(classes), input_size=(96, 96), alpha=0.35, weights=None)
    for layer in model.get_layer("backbone").layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = 0.9
    steps = args.epochs * math.ceil(len(train_x) / args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, alpha=0.01, warmup_target=args.learning_rate, warmup_steps=steps // 20
    )
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])
    info = ModelInfo(task="classify", input_size=(96, 96), labels=list(classes), mean=spec.mean, std=spec.std)
    train = make_dataset(train_x, train_y, args.batch_size, info, training=True, augment=True, seed=args.seed)
    test = make_dataset(test_x, test_y, args.batch_size, info)
    model.fit(train, epochs=args.epochs, validation_data=test, verbose=2)
    _, accuracy = model.evaluate(test, verbose=0)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic.atomic_path(args.out, suffix=".weights.h5") as tmp:
        model.get_layer("backbone").save_weights(tmp)
    print(f"pretrain_backbone: {source} test accuracy {accuracy:.4f} after {args.epochs} epochs, "
          f"{time.perf_counter() - started:.0f} s; wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
