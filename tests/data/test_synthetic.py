import numpy as np
import pytest

from edgevision.data import load_images, synthetic
from edgevision.errors import UserError


def test_same_seed_same_images_and_a_limit_is_a_prefix():
    a, la, names = load_images("synthetic:shapes:200", "val", image_size=48, seed=3)
    b, lb, _ = load_images("synthetic:shapes:200", "val", image_size=48, seed=3, limit=7)
    assert names == ["circle", "square", "triangle", "star"]
    assert a.dtype == np.uint8 and a.shape == (20, 48, 48, 3)
    assert np.array_equal(a[:7], b) and np.array_equal(la[:7], lb)


def test_other_seed_and_other_split_give_other_images():
    a, _, _ = load_images("synthetic:shapes:200", "test", image_size=32, seed=0)
    b, _, _ = load_images("synthetic:shapes:200", "test", image_size=32, seed=1)
    c, _, _ = load_images("synthetic:shapes:200", "val", image_size=32, seed=0)
    assert not np.array_equal(a, b)
    assert not any(np.array_equal(x, y) for x in a for y in c)


def test_splits_are_80_10_10_and_classes_balanced():
    images, labels, names = load_images("synthetic:shapes:400", "train", image_size=(40, 56))
    assert images.shape == (320, 40, 56, 3)
    assert np.bincount(labels).tolist() == [80] * len(names)
    assert synthetic.split_count("synthetic:shapes", "test") == 300


def test_images_vary_and_the_shape_stands_out():
    images, _, _ = load_images("synthetic:shapes:200", "train", image_size=64, limit=40)
    assert images.std(axis=(1, 2, 3)).min() > 5  # never a blank picture
    assert len({tuple(img.reshape(-1, 3).mean(0).round()) for img in images}) == 40


@pytest.mark.parametrize("source", ["synthetic:cats", "synthetic:shapes:abc", "synthetic:shapes-det"])
def test_unknown_synthetic_source_is_a_user_error(source):
    with pytest.raises(UserError):
        load_images(source, "train")


def test_pretext_set_has_eight_other_shapes_for_pretraining():
    images, labels, names = load_images("synthetic:pretext:80", "train", image_size=48)
    assert len(names) == 8 and not set(names) & set(synthetic.CLASSES)
    assert np.bincount(labels).tolist() == [8] * 8
    assert images.std(axis=(1, 2, 3)).min() > 5
