"""Real ImageNet weights and real photos (../shared/reference/real): they load, and a short fine-tune learns."""

import json

import h5py
import numpy as np
import pytest

from edgevision.errors import UserError
from edgevision.models import build_model

V2_FILE = "weights/mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"
V1_FILE = "weights/mobilenet_2_5_224_tf_no_top.h5"
PHOTOS = "photos/hymenoptera"


@pytest.fixture
def real(reference):
    folder = reference / "real"
    if not (folder / "README.md").is_file():
        pytest.skip(f"the real kit is not at {folder}")
    return folder


def stored_arrays(path):
    arrays = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda _, obj: arrays.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


@pytest.mark.parametrize("input_size", [128, 224, 160])
def test_mobilenet_v2_imagenet_file_fills_the_backbone_at_any_input_size(real, input_size):
    model = build_model("mobilenet_v2", num_classes=2, input_size=input_size, weights=real / V2_FILE)
    loaded = sorted(model.get_layer("backbone").get_weights(), key=lambda a: (a.shape, float(a.sum())))
    stored = sorted(stored_arrays(real / V2_FILE), key=lambda a: (a.shape, float(a.sum())))
    assert len(loaded) == len(stored) == 260
    assert all(np.array_equal(a, b) for a, b in zip(loaded, stored, strict=True))


def test_mobilenet_v1_keras_applications_file_fills_the_backbone(real):
    model = build_model("mobilenet_v1", num_classes=2, alpha=0.25, input_size=128, weights=real / V1_FILE)
    first = model.get_layer("backbone").get_layer("conv1").get_weights()[0]
    with h5py.File(real / V1_FILE, "r") as f:
        stored = f["conv1"]["conv1"]["kernel:0"][()]
    assert np.array_equal(first, stored)


def test_a_file_that_does_not_fit_names_the_model_it_fits(real):
    with pytest.raises(UserError) as err:
        build_model("mobilenet_v2", num_classes=2, alpha=0.35, input_size=128, weights=real / V2_FILE)
    message = str(err.value)
    assert "does not fit" in message and "mobilenet_v2 --alpha 1 " in message and "\n" not in message


@pytest.mark.slow
def test_a_short_fine_tune_on_real_photos_learns(cli, real, tmp_path):
    out = tmp_path / "ants"
    result = cli("train", "--model", "mobilenet_v2", "--weights", real / V2_FILE, "--data", real / PHOTOS,
                 "--input-size", "128", "--epochs", "5", "--fine-tune-epochs", "1", "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1] * 5 + [2]
    # 153 validation photos, two classes: chance is 50% +- 4% (one standard deviation); ImageNet
    # features at 128 px reach about 90%, and 80% is far outside what chance gives.
    assert max(history["val_accuracy"]) >= 0.80
    assert "backbone features of" in result.stderr
    # Fine-tuning starts from phase 1's best epoch, not its last: the head, evaluated again once
    # restored, scores what that epoch scored (the same weights on the same cached features).
    phase_1 = history["val_accuracy"][:5]
    best = max(phase_1)
    assert (f"fine-tuning starts from epoch {phase_1.index(best) + 1} of 5, the best: "
            f"validation accuracy {100 * best:.1f}%") in result.stderr


@pytest.mark.slow
def test_the_defaults_on_real_photos_end_within_a_photo_of_phase_1s_best(cli, real, tmp_path):
    # The command of docs/training.md "Training on your photos", every setting at its default.
    out = tmp_path / "ants"
    result = cli("train", "--model", "mobilenet_v2", "--weights", real / V2_FILE, "--data", real / PHOTOS,
                 "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["phase"] == [1] * 20 + [2] * 5
    phase_1_best = max(history["val_accuracy"][:20])
    # Fine-tuning keeps what phase 1 found: it starts from phase 1's best head and averages its
    # weights, so its last epoch is no worse than phase 1's best (tools/bench_real.py measures
    # that; here one photo of slack, as phase 2 is not bit-reproducible across CPUs, while the
    # recipe without the restored head and the average ended two photos below in some runs).
    # A linear probe on these frozen features gets 145 of the 153 photos (94.8%); 95.5% is two more.
    assert history["val_accuracy"][-1] >= phase_1_best - 1 / 153 - 1e-6
    assert max(history["val_accuracy"]) >= 0.955
