"""Models from elsewhere, as users find them: open batch dimensions, score vectors of any rank,
logits, normalisation presets, raw-pixel inputs, RGB callers (tiny models built here)."""

import json

import numpy as np
import pytest

from edgevision.runtime import load
from tests.runtime.tiny_models import echo_onnx, echoed

pytest.importorskip("onnx")
BGR = (10, 128, 250)  # a solid colour: mean R 250, G 128, B 10
INCEPTION = [(250 - 127.5) / 127.5, (128 - 127.5) / 127.5, (10 - 127.5) / 127.5]
# float32 softmax then log: about 1e-6 relative on scores near 0.1-0.5
TOL = 1e-5


def _fed(model, frame=None, **kwargs):
    result = model.predict(np.full((20, 30, 3), BGR, np.uint8) if frame is None else frame, top_k=4, **kwargs)
    return result, echoed({c.index: c.score for c in result.top_k}, getattr(model, "_gain", 1.0))


@pytest.mark.parametrize("output_shape,batch", [(None, "N"), (None, -1), ([4], 1), ([1, 4], "N"),
                                                ([-1, 1, 1, 4], "N"), ([1, 1, 1, 4], 1)],
                         ids=["[N,4] named", "[?,4] unknown", "[4]", "[1,4]", "[N,1,1,4]", "[1,1,1,4]"])
@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_score_vectors_of_any_rank_and_open_batch_dimensions(tmp_path, output_shape, batch, layout):
    model = load(echo_onnx(tmp_path / "m.onnx", output_shape=output_shape, batch=batch, layout=layout), threads=1)
    assert model.task == "classify" and len(model.labels) == 0
    result, fed = _fed(model)
    assert result.scores == "softmax of logits"  # negative values: not probabilities
    assert sum(c.score for c in result.top_k) == pytest.approx(1, abs=1e-5)
    assert fed == pytest.approx(INCEPTION, abs=TOL)  # default for float inputs: [-1, 1]


def test_probabilities_are_reported_as_they_are(tmp_path):
    model = load(echo_onnx(tmp_path / "p.onnx", softmax=True), threads=1)
    result, fed = _fed(model)
    assert result.scores == "probabilities"
    assert fed == pytest.approx(INCEPTION, abs=TOL)


def test_predict_json_says_the_scores_are_a_softmax_of_logits(cli, tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "solid.png"), np.full((20, 30, 3), BGR, np.uint8))
    result = cli("predict", echo_onnx(tmp_path / "m.onnx"), tmp_path / "solid.png", "--json", "--top-k", "4")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["results"][0]
    assert entry["scores"] == "softmax of logits"
    assert all(0 <= c["score"] <= 1 for c in entry["top_k"])
    text = cli("predict", tmp_path / "m.onnx", tmp_path / "solid.png")
    assert text.returncode == 0 and "softmax of its logits" in text.stderr


RGB = np.array([250.0, 128.0, 10.0])
PRESETS = {"imagenet": ((123.675, 116.28, 103.53), (58.395, 57.12, 57.375)), "inception": (127.5, 127.5),
           "unit": (0.0, 255.0), "raw": (0.0, 1.0)}


@pytest.mark.parametrize("preset", PRESETS)
def test_normalisation_presets_feed_what_they_say(tmp_path, preset):
    gain = 0.01 if preset == "raw" else 1.0  # raw pixels up to 255: keep the echoed logits small
    model = load(echo_onnx(tmp_path / "m.onnx", gain=gain), threads=1, normalize=preset)
    model._gain = gain
    mean, std = (np.asarray(v, np.float64) for v in PRESETS[preset])
    _, fed = _fed(model)
    assert fed == pytest.approx((RGB - mean) / std, abs=TOL / gain)


def test_presets_are_the_ones_the_cli_offers(cli):
    from edgevision.runtime.description import NORMALIZATIONS

    assert set(NORMALIZATIONS) == set(PRESETS)
    for args in (("predict", "m.onnx", "x.png"), ("run", "--model", "m.onnx")):
        result = cli(*args, "--normalize", "sRGB")
        assert result.returncode == 2 and all(name in result.stderr for name in PRESETS), result.stderr


def test_mean_and_std_are_red_green_blue_even_for_a_bgr_model(tmp_path):
    from edgevision.metadata import ModelInfo, write_sidecar

    path = echo_onnx(tmp_path / "bgr.onnx")
    write_sidecar(path, ModelInfo(task="classify", input_size=(8, 8), labels=["b", "g", "r", "zero"],
                                  color_order="BGR", output_layout="logits", format="onnx"))
    model = load(path, threads=1, normalize="imagenet")
    _, fed = _fed(model)  # the model's channels are B, G, R
    mean, std = (np.asarray(v[::-1]) for v in PRESETS["imagenet"])
    assert fed == pytest.approx((RGB[::-1] - mean) / std, abs=TOL)


def test_normalize_and_mean_together_is_one_clear_error(cli, tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "solid.png"), np.full((20, 30, 3), BGR, np.uint8))
    result = cli("predict", echo_onnx(tmp_path / "m.onnx"), tmp_path / "solid.png", "--normalize", "unit",
                 "--mean", "0")
    assert result.returncode == 2 and "give one of them" in result.stderr and result.stdout == ""
    ok = cli("predict", tmp_path / "m.onnx", tmp_path / "solid.png", "--normalize", "unit", "--json", "--top-k", "4")
    assert ok.returncode == 0, ok.stderr
    top = {c["index"]: c["score"] for c in json.loads(ok.stdout)["results"][0]["top_k"]}
    assert echoed(top) == pytest.approx(RGB / 255, abs=1e-4)  # JSON scores rounded to 1e-6, all above 0.1


def test_uint8_input_without_quantization_parameters_takes_raw_pixels(tmp_path):
    model = load(echo_onnx(tmp_path / "u8.onnx", dtype="uint8", gain=0.01), threads=1)
    model._gain = 0.01
    assert model.preprocess.mode == "identity"  # pixels go in untouched
    _, fed = _fed(model)
    assert fed == pytest.approx(RGB, abs=TOL * 100)


def test_rgb_frames_and_pil_images_give_the_bgr_answer(tmp_path):
    from PIL import Image

    model = load(echo_onnx(tmp_path / "m.onnx"), threads=1)
    rgb = np.full((20, 30, 3), BGR[::-1], np.uint8)
    assert _fed(model, rgb, color="rgb")[1] == pytest.approx(INCEPTION, abs=TOL)
    assert _fed(model, Image.fromarray(rgb))[1] == pytest.approx(INCEPTION, abs=TOL)
    rgb_model = load(tmp_path / "m.onnx", threads=1, color="rgb")
    assert _fed(rgb_model, rgb)[1] == pytest.approx(INCEPTION, abs=TOL)
    with pytest.raises(ValueError, match="'bgr' or 'rgb'"):
        model.predict(rgb, color="RGBA")


def test_letterbox_padding_is_the_mean_colour_for_rgb_frames_too(tmp_path):
    from edgevision.metadata import ModelInfo, write_sidecar

    path = echo_onnx(tmp_path / "m.onnx")
    write_sidecar(path, ModelInfo(task="classify", input_size=(8, 8), labels=list("rgbz"), output_layout="logits",
                                  mean=(200.0, 100.0, 50.0), std=(50.0, 50.0, 50.0), format="onnx"))
    model = load(path, threads=1, letterbox=True)
    frame = np.full((4, 8, 3), (50, 100, 200), np.uint8)  # BGR of the mean: input 0 everywhere
    for image, color in ((frame, "bgr"), (np.ascontiguousarray(frame[:, :, ::-1]), "rgb")):
        tensor = model.prepare(image, color=color).tensor
        assert np.abs(tensor).max() == 0  # padding and picture both map to 0


def test_tf2onnx_style_uint8_output_takes_its_scale_from_the_graph(tmp_path):
    model = load(echo_onnx(tmp_path / "q.onnx", dtype="uint8", gain=0.01, softmax=True, quantized_output=True),
                 threads=1)
    result, _ = _fed(model)
    assert result.scores == "probabilities"
    steps = [c.score * 256 for c in result.top_k]  # whole multiples of the output scale 1/256
    assert steps == pytest.approx([round(s) for s in steps], abs=1e-4)
    expected = np.exp(np.append(RGB * 0.01, 0.0))
    expected /= expected.sum()  # the model's own softmax, then rounded to 1/256
    for c in result.top_k:
        assert abs(c.score - expected[c.index]) <= 1 / 512 + 1e-6


@pytest.mark.slow
def test_quantized_tflite_converted_with_tf2onnx_gives_the_tflite_answer(reference, tmp_path):
    """The reference MobileNet v1 through tf2onnx: uint8 input and output, no quantization parameters."""
    import subprocess
    import sys

    import cv2

    pytest.importorskip("tf2onnx")
    target = tmp_path / "v1_quant.onnx"
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite",
                    str(reference / "mobilenet_v1_0.25_128_quant.tflite"), "--output", str(target)],
                   check=True, capture_output=True, timeout=600)
    labels = reference / "imagenet_labels.txt"
    frame = cv2.imread(str(reference / "parrot.jpg"))
    onnx_top = load(target, threads=1, labels=labels).predict(frame).top_k
    tflite_top = load(reference / "mobilenet_v1_0.25_128_quant.tflite", threads=1, labels=labels).predict(frame).top_k
    assert (onnx_top[0].index, onnx_top[0].label) == (tflite_top[0].index, tflite_top[0].label) == (89, "macaw")
    # Two runtimes' int8 kernels round each of the 28 layers' requantization their own way, so
    # the scores are not bit-equal; what is checked is that the ONNX score is read as the same
    # probability (scaled by 1/256 from the graph), not 0..255 or a softmax of those.
    assert abs(onnx_top[0].score - tflite_top[0].score) <= 0.05


def test_onnx_model_zoo_shaped_classifier_with_flags_a_user_would_give(cli, tmp_path):
    """NCHW float input [N, 3, H, W], [N, 1000] logits, torchvision normalisation, a 1000-line synset file."""
    import cv2

    model = echo_onnx(tmp_path / "zoo.onnx", layout="NCHW", extra_outputs=996)
    labels = tmp_path / "synset.txt"
    labels.write_text("".join(f"n{i:08d} class {i}\n" for i in range(1000)))
    cv2.imwrite(str(tmp_path / "solid.png"), np.full((20, 30, 3), BGR, np.uint8))
    result = cli("predict", model, tmp_path / "solid.png", "--labels", labels, "--normalize", "imagenet", "--json")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)["results"][0]
    best = entry["top_k"][0]
    assert entry["scores"] == "softmax of logits"
    # imagenet normalisation of R 250: (250 - 123.675) / 58.395 = 2.16, the largest logit
    assert (best["index"], best["label"]) == (0, "n00000000 class 0")
    x = (RGB - np.array(PRESETS["imagenet"][0])) / np.array(PRESETS["imagenet"][1])
    logits = np.concatenate([x, np.zeros(997)])
    assert best["score"] == pytest.approx(np.exp(x[0]) / np.exp(logits).sum(), abs=2e-6)
