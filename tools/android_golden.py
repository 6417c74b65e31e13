"""Write the golden vectors the Android demo's Kotlin core is tested against.

    python tools/android_golden.py [--out DIR] [--reference DIR]

The Python runtime is the reference: the same frames go through `runtime/preprocess.py` and the
same model outputs through `runtime/classification.py` and `runtime/detection.py` (latencies and
frame times through `runtime/metrics.py`); `GoldenTest.kt` feeds them to `core` and requires the
same input tensor bytes, the same top-k and the same boxes (within 1 px). Camera frames are
YUV_420_888 on a phone, so the YUV cases are converted with OpenCV's `COLOR_YUV2RGB_NV21` and
rotated with `cv2.rotate` before the runtime pre-processes them.

Everything is small and deterministic (seeded). The photo case is a 64x48 crop of
`../shared/reference/cat.bmp`, stored as raw RGB next to the vectors; with `--reference`
present the crop and the real model output (MobileNet quantized, run on the whole photo) are
taken afresh, otherwise the committed ones are reused, so the vectors can be regenerated
anywhere (`tests/android/test_android_golden.py` does, to catch Python changes that drift).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from edgevision import atomic
from edgevision.metadata import ModelInfo, write_sidecar
from edgevision.runtime import classification, detection
from edgevision.runtime.backends import TensorSpec
from edgevision.runtime.metrics import MetricsTracker, latency_stats
from edgevision.runtime.preprocess import Preprocessor, Transform

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "android-demo" / "core" / "src" / "test" / "resources" / "golden"
DEFAULT_REFERENCE = ROOT.parent / "shared" / "reference"
FRAME_W, FRAME_H = 64, 48
PHOTO_CROP = "photo_cat_64x48.rgb"
REAL_OUTPUT = "mobilenet_v1_025_128_quant_cat.u8"
IMAGENET_MEAN, IMAGENET_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)

# (name, input (h, w), color order, mean, std, input quantization or None)
INPUTS = [
    ("float_rgb_32x24", (24, 32), "RGB", (127.5,) * 3, (127.5,) * 3, None),
    ("float_imagenet_28x28", (28, 28), "RGB", IMAGENET_MEAN, IMAGENET_STD, None),
    ("int8_rgb_72x72", (72, 72), "RGB", (127.5,) * 3, (127.5,) * 3, {"dtype": "int8", "scale": 0.0078125, "zero_point": 0}),
    ("int8_shift_20x30", (20, 30), "RGB", (128.0,) * 3, (1.0,) * 3, {"dtype": "int8", "scale": 1.0, "zero_point": 0}),
    ("uint8_bgr_identity_48x64", (48, 64), "BGR", (128.0,) * 3, (128.0,) * 3, {"dtype": "uint8", "scale": 0.0078125, "zero_point": 128}),
    ("uint8_odd_scale_17x23", (17, 23), "RGB", (120.0, 110.0, 100.0), (60.0, 61.0, 62.0), {"dtype": "uint8", "scale": 0.0173, "zero_point": 101}),
]


def synthetic_rgb(seed=0) -> np.ndarray:
    """A 64x48 RGB frame with gradients, hard edges and noise (what resizing gets wrong)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:FRAME_H, 0:FRAME_W]
    img = np.stack([x * 4, y * 5, (x + y) * 2], -1).astype(np.int16)
    img[10:30, 20:44] = (250, 30, 60)
    img += rng.integers(-12, 13, img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_yuv(seed=1):
    """An NV21 frame as a phone delivers it: Y rows padded to 72 bytes, interleaved V/U (pixel stride 2)."""
    rng = np.random.default_rng(seed)
    y = np.clip(rng.normal(120, 60, (FRAME_H, FRAME_W)), 0, 255).astype(np.uint8)
    y[:, :16] = 235
    vu = rng.integers(0, 256, (FRAME_H // 2, FRAME_W), dtype=np.uint8)
    y_stride, uv_stride = 72, 80
    y_plane = np.zeros((FRAME_H, y_stride), np.uint8)
    y_plane[:, :FRAME_W] = y
    vu_plane = np.zeros((FRAME_H // 2, uv_stride), np.uint8)
    vu_plane[:, :FRAME_W] = vu
    nv21 = np.concatenate([y, vu], 0)
    rgb = cv2.cvtColor(nv21, cv2.COLOR_YUV2RGB_NV21)
    planes = {"y": y_plane.tobytes(), "vu": vu_plane.reshape(-1)[: uv_stride * (FRAME_H // 2 - 1) + FRAME_W].tobytes()}
    layout = {"width": FRAME_W, "height": FRAME_H, "y_row_stride": y_stride, "uv_row_stride": uv_stride, "uv_pixel_stride": 2}
    return rgb, planes, layout


ROTATED_INPUTS = ("float_rgb_32x24", "uint8_odd_scale_17x23")
ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate(rgb, degrees):
    return rgb if degrees == 0 else cv2.rotate(rgb, ROTATIONS[degrees])


def preprocess(rgb: np.ndarray, info: ModelInfo) -> bytes:
    """The runtime's pre-processing of an RGB frame (fed as BGR, as OpenCV delivers frames)."""
    q = info.input_quantization
    dtype = np.dtype(q["dtype"]) if q else np.dtype(np.float32)
    spec = TensorSpec("input", (1, *info.input_size, 3), dtype, q["scale"] if q else None, q["zero_point"] if q else None)
    prep = Preprocessor(spec, color_order=info.color_order, mean=info.mean, std=info.std)
    tensor, _ = prep(np.ascontiguousarray(rgb[..., ::-1]))
    return np.ascontiguousarray(tensor).astype(tensor.dtype.newbyteorder("<")).tobytes()


def classify_cases(out: Path, real_output: np.ndarray) -> list[dict]:
    rng = np.random.default_rng(2)
    cases = []
    probs = np.zeros(10, np.uint8)
    probs[[3, 7, 1]] = (200, 200, 31)  # a tie: the lower index comes first
    logits = rng.integers(-128, 128, 12).astype(np.int8)
    vectors = [
        ("uint8_probabilities_tie", probs, {"dtype": "uint8", "scale": 1 / 256, "zero_point": 0}, "probabilities", 5, 0.0),
        ("int8_logits", logits, {"dtype": "int8", "scale": 0.0625, "zero_point": -3}, "logits", 4, 0.0),
        ("float_probabilities_threshold", rng.dirichlet(np.ones(8)).astype(np.float32), None, "probabilities", 8, 0.1),
        ("real_mobilenet_cat", real_output, {"dtype": "uint8", "scale": 0.00390625, "zero_point": 0}, "probabilities", 5, 0.0),
    ]
    for name, raw, quant, layout, k, threshold in vectors:
        labels = [f"class{i}" for i in range(raw.size)]  # GoldenTest.kt builds the same names
        file = f"classify_{name}.bin"
        atomic.write_bytes(out / file, raw.astype(raw.dtype.newbyteorder("<")).tobytes())
        scores = classification.scores_from_output(raw, quant["scale"] if quant else None, quant["zero_point"] if quant else None, layout)
        top = classification.top_k(scores, labels, k, threshold)
        cases.append({"name": name, "output": file, "dtype": str(raw.dtype), "quantization": quant, "layout": layout,
                      "classes": len(labels), "k": k, "threshold": threshold,
                      "expected": [{"index": c.index, "label": c.label, "score": c.score} for c in top]})
    return cases


def _boxes_yxyx(rng, n):
    yc, xc = rng.uniform(0.1, 0.9, n), rng.uniform(0.1, 0.9, n)
    h, w = rng.uniform(0.05, 0.5, n), rng.uniform(0.05, 0.5, n)
    return np.stack([yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2], 1).astype(np.float32)  # some leave [0, 1]


def detection_cases(out: Path) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(3)
    labels = ["person", "bicycle", "car", "dog", "cat"]
    frame_w, frame_h, input_w, input_h = 640, 480, 300, 300
    transform = Transform(input_w / frame_w, input_h / frame_h, 0.0, 0.0, input_w, input_h, frame_w, frame_h)
    n = 10
    tensors = {
        "boxes": (_boxes_yxyx(rng, n)[None], "TFLite_Detection_PostProcess"),
        "classes": (rng.integers(0, len(labels), (1, n)).astype(np.float32), "TFLite_Detection_PostProcess:1"),
        "scores": (np.sort(rng.uniform(0.05, 0.99, n)).astype(np.float32)[::-1][None].copy(), "TFLite_Detection_PostProcess:2"),
        "count": (np.array([8], np.float32), "TFLite_Detection_PostProcess:3"),
    }
    tensors["scores"][0][0, 4] = tensors["scores"][0][0, 3]  # equal scores keep their output order
    post = []
    orders = {"tf1": ["boxes", "classes", "scores", "count"], "tf2": ["scores", "boxes", "count", "classes"]}
    for order_name, roles in orders.items():
        for named in (False, True):
            name = f"{order_name}_{'signature_names' if named else 'unnamed'}"
            if named:  # a TF2 export's signature keys, listed in an order that is neither TF1 nor TF2
                roles = ["boxes", "scores", "classes", "count"] if order_name == "tf1" else roles
            outputs, entries = [], []
            for role in roles:
                array, tensor_name = tensors[role]
                file = f"detect_post_{name}_{role}.bin"
                atomic.write_bytes(out / file, array.astype("<f4").tobytes())
                label = f"detection_{role}" if named and role in ("scores", "classes") else (tensor_name if named else "")
                outputs.append(array)
                entries.append({"name": label, "shape": list(array.shape), "file": file})
            order = detection.postprocessed_order([e["shape"] for e in entries], [e["name"] for e in entries])
            found = detection.from_postprocessed(outputs, order, labels, transform, threshold=0.3)
            post.append({"name": name, "outputs": entries, "labels": labels, "threshold": 0.3,
                         "frame": [frame_w, frame_h], "input": [input_w, input_h], "expected": _dets(found)})

    # Raw outputs: 4 objects, each seen by several neighbouring anchors, plus background clutter.
    anchors = np.array([[yc, xc, s, s] for yc in np.linspace(0.1, 0.9, 6) for xc in np.linspace(0.1, 0.9, 6)
                        for s in (0.2, 0.35)], np.float32)
    na, nc = len(anchors), len(labels) + 1
    encodings = rng.normal(0, 0.6, (1, na, 4)).astype(np.float32)
    logits = rng.normal(-2.5, 1.0, (na, nc))
    for obj in range(4):
        centre = rng.integers(0, na)
        near = np.argsort(np.abs(anchors[:, :2] - anchors[centre, :2]).sum(1))[:5]
        logits[near, 1 + obj % len(labels)] += rng.uniform(3.5, 6.0, len(near))
    scores = (1 / (1 + np.exp(-logits))).astype(np.float32)[None]
    raw = []
    atomic.write_bytes(out / "detect_raw_encodings.bin", encodings.astype("<f4").tobytes())
    atomic.write_bytes(out / "detect_raw_scores.bin", scores.astype("<f4").tobytes())
    atomic.write_bytes(out / "detect_raw_anchors.bin", anchors.astype("<f4").tobytes())
    for name, threshold, iou, max_det in (("nms_iou05", 0.3, 0.5, 100), ("nms_iou03_max3", 0.3, 0.3, 3), ("low_threshold", 0.05, 0.6, 20)):
        found = detection.from_raw(encodings, scores, anchors, labels, transform, scales=detection.BOX_CODER_SCALES,
                                   threshold=threshold, iou_threshold=iou, max_detections=max_det)
        raw.append({"name": name, "encodings": "detect_raw_encodings.bin", "scores": "detect_raw_scores.bin",
                    "anchors": "detect_raw_anchors.bin", "box_scales": list(detection.BOX_CODER_SCALES), "classes": nc, "labels": labels,
                    "threshold": threshold, "iou_threshold": iou, "max_detections": max_det,
                    "frame": [frame_w, frame_h], "input": [input_w, input_h], "expected": _dets(found)})
    return post, raw


def _dets(found) -> list[dict]:
    return [{"index": d.index, "label": d.label, "score": d.score, "box": list(d.box)} for d in found]


def metrics_case() -> dict:
    rng = np.random.default_rng(4)
    latencies = np.round(rng.gamma(4.0, 3.0, 57), 3).tolist()
    frame_ns = np.cumsum(rng.integers(20_000_000, 60_000_000, 40)).tolist()
    clock = iter([0.0, *(t / 1e9 for t in frame_ns)])
    tracker = MetricsTracker(window=30, clock=lambda: next(clock))
    for _ in frame_ns:
        tracker.frame()
    stats = latency_stats(latencies)
    return {"latencies_ms": latencies, "p50": stats["p50"], "p90": stats["p90"],
            "frame_times_ns": frame_ns, "window": 30, "fps_rolling": tracker.fps_rolling}


def load_photo_and_real_output(out: Path, reference: Path | None):
    """The 64x48 photo crop and the real model's raw output: fresh from the reference folder, or as committed."""
    if reference is not None and (reference / "cat.bmp").is_file():
        photo = cv2.imread(str(reference / "cat.bmp"))
        h, w = photo.shape[:2]
        crop = photo[h // 2 - 24: h // 2 + 24, w // 2 - 32: w // 2 + 32, ::-1]
        atomic.write_bytes(out / PHOTO_CROP, np.ascontiguousarray(crop).tobytes())
        from edgevision.runtime import load

        model = load(reference / "mobilenet_v1_0.25_128_quant.tflite", threads=1)
        tensor, _ = model.preprocess(photo)
        raw = model.backend.invoke([tensor])[0].reshape(-1)
        atomic.write_bytes(out / REAL_OUTPUT, raw.astype(np.uint8).tobytes())
    if not (out / PHOTO_CROP).is_file() or not (out / REAL_OUTPUT).is_file():
        raise SystemExit(f"android_golden: {out / PHOTO_CROP} is missing: run once with --reference pointing at shared/reference")
    crop = np.frombuffer((out / PHOTO_CROP).read_bytes(), np.uint8).reshape(FRAME_H, FRAME_W, 3)
    return crop, np.frombuffer((out / REAL_OUTPUT).read_bytes(), np.uint8).copy()


def generate(out: Path, reference: Path | None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    photo, real_output = load_photo_and_real_output(out, reference)
    synthetic = synthetic_rgb()
    atomic.write_bytes(out / "synthetic_64x48.rgb", synthetic.tobytes())
    yuv_rgb, planes, layout = synthetic_yuv()
    atomic.write_bytes(out / "synthetic_64x48_nv21.y", planes["y"])
    atomic.write_bytes(out / "synthetic_64x48_nv21.vu", planes["vu"])
    frames = {
        "synthetic": ({"format": "rgb", "file": "synthetic_64x48.rgb", "width": FRAME_W, "height": FRAME_H}, synthetic),
        "photo": ({"format": "rgb", "file": PHOTO_CROP, "width": FRAME_W, "height": FRAME_H}, photo),
        "yuv": ({"format": "nv21", "y": "synthetic_64x48_nv21.y", "vu": "synthetic_64x48_nv21.vu", **layout}, yuv_rgb),
    }
    preprocess_cases = []
    for name, size, order, mean, std, quant in INPUTS:
        info = ModelInfo(task="classify", input_size=size, labels=["a", "b"], mean=mean, std=std, color_order=order,
                         format="tflite", quantization="int8" if quant else "none", input_quantization=quant)
        write_sidecar(out / f"{name}.tflite", info)
        for frame_name, (frame, rgb) in frames.items():
            rotations = (0, 90, 180, 270) if frame_name == "yuv" and name in ROTATED_INPUTS else (0,)
            for degrees in rotations:
                case = f"{name}_{frame_name}_rot{degrees}"
                tensor = preprocess(rotate(rgb, degrees), info)
                atomic.write_bytes(out / f"{case}.tensor", tensor)
                preprocess_cases.append({"name": case, "sidecar": f"{name}.json", "frame": frame, "rotation": degrees,
                                         "tensor": f"{case}.tensor"})
    post, raw = detection_cases(out)
    cases = {
        "generator": "tools/android_golden.py",
        "preprocess": preprocess_cases,
        "classify": classify_cases(out, real_output),
        "detect_postprocessed": post,
        "detect_raw": raw,
        "metrics": metrics_case(),
    }
    atomic.write_json(out / "cases.json", cases)
    return cases


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE,
                        help="shared/reference folder (photo crop and real model output); reused from --out when absent")
    args = parser.parse_args(argv)
    reference = args.reference if (args.reference / "README.md").is_file() else None
    cases = generate(args.out, reference)
    total = sum(len(v) for v in cases.values() if isinstance(v, list))
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"android_golden: {total} cases, {size / 1024:.0f} KiB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
