import cv2
import numpy as np
import pytest

from edgevision.data import folders, load_images
from edgevision.data.images import read_image, resize
from edgevision.errors import UserError


def _write(path, image):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def _colour_folder(root, per_class=10, size=(30, 40)):
    rng = np.random.default_rng(0)
    for name, colour in (("blue", (255, 0, 0)), ("red", (0, 0, 255))):
        for i in range(per_class):
            image = np.clip(np.full((*size, 3), colour, np.float32) + rng.normal(0, 20, (*size, 3)), 0, 255)
            _write(root / name / f"{i}.jpg", image.astype(np.uint8))
    return root


@pytest.fixture(autouse=True)
def _fresh_scan_cache():
    folders._SCANNED.clear()


def test_seeded_split_is_stratified_disjoint_and_rgb(tmp_path):
    root = _colour_folder(tmp_path / "data")
    parts = {s: load_images(root, s, image_size=24, seed=5) for s in ("train", "val", "test")}
    images, labels, names = parts["train"]
    assert names == ["blue", "red"]
    assert [len(parts[s][1]) for s in ("train", "val", "test")] == [16, 2, 2]
    assert sorted(np.bincount(parts["val"][1])) == [1, 1]
    blue = images[labels == 0].reshape(-1, 3).mean(0)
    assert blue[2] > 200 and blue[0] < 60  # RGB order: blue is the last channel
    paths = {s: {p for p, _ in folders.scan(root, 5).splits[s]} for s in ("train", "val", "test")}
    assert not (paths["train"] & paths["val"]) and not (paths["train"] & paths["test"])


def test_existing_split_folders_are_respected(tmp_path):
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        _colour_folder(tmp_path / "data" / split, per_class=n)
    counts = [len(load_images(tmp_path / "data", s, image_size=16)[1]) for s in ("train", "val", "test")]
    assert counts == [12, 4, 6]


def test_bad_files_are_skipped_in_one_warning_and_gray_rgba_converted(tmp_path, capfd):
    root = _colour_folder(tmp_path / "data", per_class=4)
    (root / "red" / "empty.jpg").write_bytes(b"")
    (root / "red" / "notes.txt").write_text("not a picture")
    good = (root / "blue" / "0.jpg").read_bytes()
    (root / "blue" / "cut.jpg").write_bytes(good[: len(good) // 2])
    _write(root / "blue" / "gray.png", np.full((30, 40), 90, np.uint8))
    _write(root / "red" / "rgba.png", np.full((30, 40, 4), 200, np.uint8))
    dataset = folders.scan(root)
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "skipped 3 unusable file(s)" in err and "cut.jpg (truncated JPEG)" in err
    assert "empty.jpg (zero bytes)" in err and "notes.txt (not an image)" in err
    assert read_image(root / "blue" / "gray.png").shape == (30, 40, 3)
    assert read_image(root / "red" / "rgba.png").shape == (30, 40, 3)
    assert sum(len(v) for v in dataset.splits.values()) == 10


def test_resize_is_opencv_bilinear():
    image = np.random.default_rng(0).integers(0, 255, (50, 70, 3), np.uint8)
    expected = cv2.resize(image, (20, 10), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(resize(image, (10, 20)), expected)


def test_one_class_or_an_empty_class_or_no_folder_is_a_user_error(tmp_path):
    root = _colour_folder(tmp_path / "data", per_class=3)
    (root / "green").mkdir()
    (root / "green" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nxx")
    with pytest.raises(UserError, match="green has no usable image"):
        folders.scan(root)
    only = tmp_path / "one"
    _write(only / "cats" / "a.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(UserError, match="at least two classes"):
        folders.scan(only)
    with pytest.raises(UserError, match="does not exist"):
        folders.scan(tmp_path / "missing")
