"""TFLite Support metadata (Model Maker, MediaPipe, Coral files): labels, normalisation, colour space."""

import json

import numpy as np
import pytest

from edgevision.runtime import load
from edgevision.runtime.modelfile import read_model_file
from edgevision.runtime.support_metadata import read_support_metadata

FLOWERS = ["daisy", "dandelion", "roses", "sunflowers", "tulips"]


def test_coral_files_metadata_is_read_and_their_uint8_input_still_takes_raw_pixels(reference):
    found = read_support_metadata(read_model_file(reference / "mobilenet_v2_1.0_224_quant.tflite"))
    assert (found.mean, found.std, found.color_space) == ((127.5,), (127.5,), "RGB")
    assert found.labels_file == "imagenet_labels.txt" and found.labels[286] == "Egyptian cat"
    model = load(reference / "mobilenet_v2_1.0_224_quant.tflite", threads=1)
    assert model.preprocess.mode == "identity"  # as the Task Library: quantized inputs ignore NormalizationOptions


def test_broken_metadata_is_ignored(reference, tmp_path):
    data = bytearray((reference / "mobilenet_v1_0.25_128_quant.tflite").read_bytes())
    start = bytes(data).index(b"M001") - 4
    data[start:start + 4] = (10**6).to_bytes(4, "little")  # the root offset points outside the entry
    (tmp_path / "m.tflite").write_bytes(bytes(data))
    assert read_support_metadata(read_model_file(tmp_path / "m.tflite")) is None


@pytest.fixture(scope="module")
def model_maker_file(tmp_path_factory):
    """A float classifier with Model Maker's metadata: inputs in [0, 1] (mean 0, std 255), labels.txt
    packed next to another text file (so only the metadata tells which one holds the labels)."""
    pytest.importorskip("tensorflow")
    from tests.runtime import tiny_tflite

    meta = tiny_tflite.support_metadata(mean=[0.0], std=[255.0], label_file="labels.txt")
    data = tiny_tflite.with_metadata(tiny_tflite.classifier(size=16, classes=5), {"TFLITE_METADATA": meta})
    data = tiny_tflite.append_zip(data, {"readme.txt": "flowers\n", "labels.txt": "\n".join(FLOWERS) + "\n"})
    path = tmp_path_factory.mktemp("model_maker") / "flowers.tflite"
    path.write_bytes(data)
    return path


def _bare_scores(path, tensor):
    from edgevision.runtime.backends import litert_interpreter_class

    interpreter = litert_interpreter_class()[0](model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor.astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


@pytest.mark.slow
def test_model_maker_classifier_takes_its_normalisation_and_labels_from_its_metadata(model_maker_file):
    model = load(model_maker_file, threads=1)
    assert model.labels == FLOWERS and model.info.mean == (0.0,) * 3 and model.info.std == (255.0,) * 3
    rgb = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)  # input size: no resize
    result = model.predict(rgb, color="rgb", top_k=5)
    expected = _bare_scores(model_maker_file, rgb[None] / 255.0)
    for c in result.top_k:  # the same float32 input: equal up to float32 rounding of the softmax
        assert c.label == FLOWERS[c.index] and abs(c.score - expected[c.index]) <= 1e-6
    assert result.scores == "probabilities"
    other = _bare_scores(model_maker_file, (rgb[None] - 127.5) / 127.5)
    assert np.abs(other - expected).max() > 1e-3  # the metadata's normalisation is what made the difference


@pytest.mark.slow
def test_predict_json_needs_no_flags_for_a_model_maker_file(cli, model_maker_file, reference):
    result = cli("predict", model_maker_file, reference / "sunflower.bmp", "--json", "--top-k", "5")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["results"][0]
    assert sorted(c["label"] for c in entry["top_k"]) == sorted(FLOWERS)
    assert sum(c["score"] for c in entry["top_k"]) == pytest.approx(1, abs=1e-5)


@pytest.mark.slow
def test_detector_labels_from_its_metadata_as_model_maker_detectors_carry_them(reference, tmp_path):
    """The pets detector given EfficientDet-Lite-style metadata: the classes output names labels.txt
    (TENSOR_VALUE_LABELS, line 0 = class 0), so no --labels is needed."""
    pytest.importorskip("tensorflow")
    import cv2

    from edgevision.runtime.labels import read_labels
    from tests.runtime import tiny_tflite

    folder = reference / "real/detectors/pets_ssd_mobilenet_v1_0.75_tf1"
    breeds = read_labels(folder / "pet_label_map.pbtxt")[1:]  # the map's ids 1..37, background dropped
    meta = tiny_tflite.support_metadata(label_file="labels.txt", outputs=4, label_output=1)
    data = tiny_tflite.with_metadata((folder / "detect.tflite").read_bytes(), {"TFLITE_METADATA": meta})
    (tmp_path / "pets.tflite").write_bytes(tiny_tflite.append_zip(data, {"labels.txt": "\n".join(breeds) + "\n"}))
    best = load(tmp_path / "pets.tflite", threads=1).predict(cv2.imread(str(reference / "cat.bmp"))).detections[0]
    assert (best.index, best.label) == (0, "Abyssinian")


@pytest.mark.slow
def test_open_input_size_comes_from_the_metadata_default_size(tmp_path):
    pytest.importorskip("tensorflow")
    from tests.runtime import tiny_tflite

    open_size = tiny_tflite.classifier(size=None, classes=5)
    (tmp_path / "open.tflite").write_bytes(open_size)
    from edgevision.errors import UserError

    with pytest.raises(UserError, match="leaves its input size open"):
        load(tmp_path / "open.tflite", threads=1)
    meta = tiny_tflite.support_metadata(mean=[127.5], std=[127.5], default_size=(24, 32))
    (tmp_path / "sized.tflite").write_bytes(tiny_tflite.with_metadata(open_size, {"TFLITE_METADATA": meta}))
    model = load(tmp_path / "sized.tflite", threads=1)
    assert model.input_size == (24, 32) and model.input_spec.shape == (1, 24, 32, 3)
    result = model.predict(np.zeros((48, 64, 3), np.uint8), top_k=5)
    assert sum(c.score for c in result.top_k) == pytest.approx(1, abs=1e-5)
