"""Image-folder datasets: one sub-folder per class, as in Keras' Dogs vs Cats recipe.

    data/cats/*.jpg  data/dogs/*.jpg                       -> seeded, stratified 80/10/10 split
    data/train/cats/...  data/val/cats/...  data/test/...  -> the given split is respected

(`valid/`, as Roboflow writes it, and `validation/` are accepted for `val/`; a missing `val/` or `test/` is carved out of `train/`
with the same seeded split.) Every file is decoded once up front: unusable files are skipped
and reported in one warning line; a class with no usable image, or fewer than two classes,
is a `UserError`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgevision.data.images import BadImage, read_image, resize
from edgevision.errors import UserError

SPLIT = (0.8, 0.1, 0.1)
# the folder names each split may have, for classification and detection datasets alike
SPLIT_FOLDERS = {"train": ("train",), "val": ("val", "valid", "validation"), "test": ("test",)}


@dataclass
class FolderDataset:
    root: Path
    class_names: list[str]
    # split -> list of (path, label), in a seeded random order
    splits: dict[str, list[tuple[Path, int]]]
    skipped: dict[Path, str] = field(default_factory=dict)

    def load(self, split: str, size, limit=None):
        """Decoded, resized images uint8 [N, H, W, 3] RGB and labels int64 [N] of one split."""
        items = self.splits[split][: None if limit is None else int(limit)]
        if size is None:
            size = _common_size(items)
        images = np.empty((len(items), size[0], size[1], 3), np.uint8)
        for i, (path, _) in enumerate(items):
            images[i] = resize(read_image(path), size)
        return images, np.array([label for _, label in items], np.int64)


_SCANNED: dict[tuple[str, int], FolderDataset] = {}


def scan(root, seed: int = 0, warn=True) -> FolderDataset:
    """Find classes and files under `root`, check every file, split; cached per (root, seed)."""
    root = Path(root).expanduser().resolve()
    key = (str(root), int(seed))
    if key in _SCANNED:
        return _SCANNED[key]
    if not root.is_dir():
        raise UserError(f"data folder {root} does not exist: pass a folder with one sub-folder per class, or synthetic:shapes")
    given = {name: find_split_folder(root, name) for name in SPLIT_FOLDERS}
    if given["train"] is not None:
        dataset = _scan_given_splits(root, given, seed)
    else:
        class_names, files, skipped = _scan_classes(root)
        dataset = FolderDataset(root, class_names, _seeded_split(files, len(class_names), seed), skipped)
    if warn and dataset.skipped:
        listed = ", ".join(f"{p.relative_to(root)} ({why})" for p, why in sorted(dataset.skipped.items()))
        print(f"edgevision: warning: skipped {len(dataset.skipped)} unusable file(s) in {root}: {listed}", file=sys.stderr)
    _SCANNED[key] = dataset
    return dataset


def find_split_folder(root: Path, split: str) -> Path | None:
    """The sub-folder of `root` holding `split` (one of SPLIT_FOLDERS' names), or None."""
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    return None


def _scan_given_splits(root, given, seed):
    class_names, train_files, skipped = _scan_classes(given["train"])
    splits = {"train": [item for items in train_files for item in items]}
    carved = _seeded_split(train_files, len(class_names), seed)
    for name in ("val", "test"):
        if given[name] is None:
            splits[name] = carved[name]
            taken = set(carved[name])
            splits["train"] = [item for item in splits["train"] if item not in taken]
            continue
        _, files, bad = _scan_classes(given[name], expected=class_names)
        skipped.update(bad)
        splits[name] = _shuffled([item for items in files for item in items], seed)
    splits["train"] = _shuffled(splits["train"], seed)
    return FolderDataset(root, class_names, splits, skipped)


def _scan_classes(folder: Path, expected=None):
    """Class names (sorted sub-folders), per-class usable files, skipped files with reasons."""
    class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    class_names = [p.name for p in class_dirs]
    if expected is None and len(class_names) < 2:
        raise UserError(
            f"{folder} has {len(class_names)} class folder(s): put the images of each class in its own "
            "sub-folder (at least two classes)"
        )
    if expected is not None and class_names != list(expected):
        raise UserError(f"{folder} has classes {class_names} but train/ has {list(expected)}: use the same class folders")
    files, skipped = [], {}
    for label, class_dir in enumerate(class_dirs):
        usable = []
        for path in sorted(p for p in class_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
            try:
                read_image(path)
                usable.append((path, label))
            except BadImage as exc:
                skipped[path] = str(exc)
        if not usable:
            raise UserError(f"class folder {class_dir} has no usable image: add images or remove the folder")
        files.append(usable)
    return class_names, files, skipped


def _seeded_split(files_per_class, num_classes, seed):
    """Stratified split of each class by SPLIT, in a seeded order; every class in every split when it can be."""
    splits = {"train": [], "val": [], "test": []}
    for items in files_per_class:
        items = _shuffled(items, seed)
        n = len(items)
        n_val = max(1, round(n * SPLIT[1])) if n >= 3 else 0
        n_test = max(1, round(n * SPLIT[2])) if n >= 3 else 0
        splits["val"] += items[:n_val]
        splits["test"] += items[n_val : n_val + n_test]
        splits["train"] += items[n_val + n_test :]
    return {name: _shuffled(items, seed) for name, items in splits.items()}


def _shuffled(items, seed):
    order = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in order]


def _common_size(items):
    sizes = {read_image(path).shape[:2] for path, _ in items}
    if len(sizes) > 1:
        raise UserError("the images have different sizes: pass image_size (e.g. 224) to load them")
    return sizes.pop() if sizes else (224, 224)
