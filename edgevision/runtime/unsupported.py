"""Models edgevision does not run, told apart so the message says what the file is and what would work.

edgevision runs image classifiers (one score vector) and SSD detectors. A file found elsewhere
may be something else: compiled for the Coral Edge TPU, a feature extractor (embeddings), a
segmentation or a pose model. Each check raises one UserError line naming the file, what it
looks like and the tool that runs it; none of them needs a description the user could add.
"""

from __future__ import annotations

from pathlib import Path

from edgevision.errors import UserError
from edgevision.metadata import sidecar_path
from edgevision.runtime.modelfile import EDGETPU_OP, L2NORM, POOL

IMAGENET_SIZES = (1000, 1001)  # class counts, not embedding sizes (those are 128 ... 2048, 1024 or 1280 mostly)
POSE_KEYPOINTS = (17, 33)  # COCO keypoints (PoseNet, MoveNet), BlazePose landmarks


def refuse_edgetpu(model_file) -> None:
    """An Edge TPU file holds its network in one custom op that only libedgetpu runs."""
    if EDGETPU_OP not in model_file.custom_ops:
        return
    path = Path(model_file.path)
    cpu = path.with_name(path.name.replace("_edgetpu", "")) if "_edgetpu" in path.name else None
    beside = f" ({cpu.name}, next to it)" if cpu is not None and cpu.is_file() else (
        f" (usually published as {cpu.name})" if cpu is not None else "")
    raise UserError(
        f"{path} is compiled for the Coral Edge TPU (its network is one {EDGETPU_OP}), which runs only on an "
        f"Edge TPU: give edgevision the CPU model it was compiled from{beside}, or run this file on an Edge TPU "
        "with pycoral and the Edge TPU runtime (libedgetpu)"
    )


def refuse_features(model_file, output_spec, labels) -> None:
    """A single vector output computed by a pooling or L2-normalisation op is an embedding,
    unless its size or the caller's labels say it is a classifier: SqueezeNet, for one, pools
    its 1000 class maps into ImageNet scores."""
    kind = model_file.output_ops[0] if model_file.output_ops else None
    if kind not in (POOL, L2NORM):
        return
    size = max(output_spec.shape)
    if size in IMAGENET_SIZES or (labels and len(labels) in (size, size + 1, size - 1)):
        return
    what = "an L2 normalisation" if kind == L2NORM else "a global average pool"
    raise UserError(
        f"{model_file.path} outputs {size} values computed by {what}: an image embedding (feature vector), "
        "not class scores. edgevision runs classifiers and detectors: train a classifier on these features "
        "(`edgevision train`), compare embeddings with your own code, or, if it is a classifier, pass its "
        f"{size}-line label file with --labels"
    )


def explain_outputs(path, input_hw, outputs) -> UserError:
    """The error for a model whose outputs are neither one score vector nor an SSD layout."""
    shapes = [tuple(o.shape) for o in outputs]
    listed = [list(s) for s in shapes]
    if _is_pose(shapes):
        return UserError(
            f"{path} looks like a pose model (outputs {listed}: body keypoints): edgevision runs classifiers "
            "and detectors; run it with MediaPipe's Pose Landmarker or LiteRT directly"
        )
    if _is_segmentation(shapes, input_hw):
        return UserError(
            f"{path} looks like a segmentation model (outputs {listed}: a class per pixel of the "
            f"{input_hw[0]}x{input_hw[1]} input): edgevision runs classifiers and detectors; run it with "
            "MediaPipe's Image Segmenter or LiteRT / ONNX Runtime directly"
        )
    if _is_raw_ssd(shapes):
        return UserError(
            f"{path} has raw SSD outputs {listed} (box encodings and class scores) and no anchors to decode "
            f"them: describe it with a sidecar {sidecar_path(path).name} (output_layout ssd_raw, anchors, "
            "box_scales), or export it with the TFLite_Detection_PostProcess op"
        )
    return UserError(
        f"{path} has outputs {listed}: neither one score vector (a classifier) nor the 4 outputs of an SSD "
        "detector's post-processing, which is what edgevision runs; a model exported by `edgevision export` "
        "carries its own description"
    )


def _is_pose(shapes) -> bool:
    for s in shapes:
        if len(s) >= 2 and s[-1] in (2, 3, 4, 5) and s[-2] in POSE_KEYPOINTS:
            return True  # [1, 1, 17, 3] MoveNet: (y, x, score) per keypoint
        if len(s) == 3 and s[-1] == 56:
            return True  # [1, 6, 56] MoveNet MultiPose: 17 x 3 + a box and its score
    last = {s[-1] for s in shapes if len(s) == 4}
    return 17 in last and 34 in last  # PoseNet: heatmaps [1, h, w, 17] and offsets [1, h, w, 34]


def _is_segmentation(shapes, input_hw) -> bool:
    h, w = input_hw
    for s in shapes:
        dims = [d for d in s if d > 0]
        for i in range(len(dims) - 1):
            oh, ow = dims[i], dims[i + 1]
            if oh >= 8 and ow >= 8 and any(oh * f == h and ow * f == w for f in (1, 2, 4, 8)):
                return True  # [1, H, W, C], [1, C, H, W], [1, H, W] or a fixed fraction of the input
    return False


def _is_raw_ssd(shapes) -> bool:
    return (len(shapes) == 2 and all(len(s) == 3 for s in shapes) and shapes[0][1] == shapes[1][1]
            and any(s[-1] == 4 for s in shapes))
