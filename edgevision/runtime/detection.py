"""Detection post-processing: the standard SSD output layouts, box decoding and the one NMS.

Two kinds of detector outputs are read:

- "ssd_postprocessed": the four outputs of TFLite's detection post-processing op, in the
  TF1 order (boxes [1,N,4], classes [1,N], scores [1,N], count [1]) or the TF2 order
  (scores, boxes, count, classes); `postprocessed_order` tells them apart by shape, then by
  signature / tensor names, then by the TF1/TF2 position convention, and each inference checks
  the scores/classes pair by its values (`values_swapped`).
- "ssd_raw": box encodings [1,N,4] and class scores [1,N,C+1] (column 0 = background), with
  anchors (ycenter, xcenter, h, w) and box-coder scales from the model's description;
  `decode_boxes` (centre-size, as in the TF Object Detection API's FasterRcnnBoxCoder) and
  `nms` (greedy, class-aware, vectorised IoU) turn them into detections (`decode_raw`, the one
  raw-SSD decoder: training's and export's mAP evaluation use it too).

Boxes leave this module as [xmin, ymin, xmax, ymax] in pixels of the original frame.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from edgevision.runtime.labels import label_for

# The box coder's scales (y, x, h, w): those of the TF Object Detection API's SSDs, which our SSDLite
# trains with (`train.ssd_targets` encodes with them, this module decodes, export bakes them in).
BOX_CODER_SCALES = (10.0, 10.0, 5.0, 5.0)
ROLES = ("boxes", "classes", "scores", "count")


class Detection(NamedTuple):
    index: int
    label: str
    score: float
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax in frame pixels


def postprocessed_order(shapes, names=()) -> dict[str, int]:
    """{"boxes", "classes", "scores", "count"} -> output position for the 4-output SSD layout.

    `shapes`: the four output shapes; `names`: their signature or tensor names (may be None).
    ValueError when the outputs are not that layout.
    """
    shapes = [tuple(s) for s in shapes]
    if len(shapes) != 4:
        raise ValueError(f"{len(shapes)} outputs, the SSD post-processed layout has 4")
    boxes = [i for i, s in enumerate(shapes) if len(s) == 3 and s[-1] == 4]
    count = [i for i, s in enumerate(shapes) if int(np.prod([abs(d) for d in s])) == 1 and len(s) <= 1]
    if len(boxes) != 1 or len(count) != 1:
        raise ValueError(f"output shapes {[list(s) for s in shapes]} are not boxes/classes/scores/count")
    rest = [i for i in range(4) if i not in (boxes[0], count[0])]
    if any(len(shapes[i]) != 2 for i in rest):
        raise ValueError(f"output shapes {[list(s) for s in shapes]} are not boxes/classes/scores/count")
    order = {"boxes": boxes[0], "count": count[0]}
    names = [(n or "").lower() for n in names] if names else [""] * 4
    by_name = {}
    for i in rest:
        if "score" in names[i]:
            by_name["scores"] = i
        elif "class" in names[i]:
            by_name["classes"] = i
    if len(by_name) == 2 and set(by_name.values()) == set(rest):
        return {**order, **by_name}
    if order["boxes"] == 0:  # TF1: boxes, classes, scores, count
        return {**order, "classes": rest[0], "scores": rest[1]}
    return {**order, "scores": rest[0], "classes": rest[1]}  # TF2: scores, boxes, count, classes


def raw_order(shapes, names=()) -> tuple[int, int]:
    """(box encodings position, class scores position) of the two ssd_raw outputs.

    Told apart by shape ([1, N, 4] vs [1, N, C+1]); with 3 classes both end in 4, so then by
    name ("box..." vs "class..."/"score..."), else the training model's order (boxes first).
    """
    shapes = [tuple(s) for s in shapes]
    if len(shapes) != 2 or any(len(s) != 3 for s in shapes) or shapes[0][1] != shapes[1][1]:
        raise ValueError(f"outputs {[list(s) for s in shapes]} are not box encodings [1, N, 4] + class scores [1, N, C+1]")
    fours = [i for i, s in enumerate(shapes) if s[-1] == 4]
    if len(fours) == 1:
        return fours[0], 1 - fours[0]
    if not fours:
        raise ValueError(f"no output of {[list(s) for s in shapes]} holds 4 box coordinates")
    names = [(n or "").lower() for n in names] if names else ["", ""]
    if "box" in names[1] or any(w in names[0] for w in ("class", "score")):
        return 1, 0
    return 0, 1


def from_postprocessed(outputs, order, labels, transform, threshold=0.5) -> list[Detection]:
    """Detections from the four post-processed outputs (boxes normalised ymin, xmin, ymax, xmax).

    Scores and classes have the same shape; when their values tell them apart (`values_swapped`)
    the values win over `order`, whose names or position convention can be wrong for files
    converted elsewhere (TF2 exports name them StatefulPartitionedCall:0..3 in varying orders).
    """
    boxes = np.asarray(outputs[order["boxes"]], np.float32).reshape(-1, 4)
    scores = np.asarray(outputs[order["scores"]], np.float32).reshape(-1)
    classes = np.asarray(outputs[order["classes"]]).reshape(-1)
    count = min(int(np.asarray(outputs[order["count"]]).reshape(-1)[0]), len(scores), len(boxes))
    if values_swapped(scores[:count], classes[:count]):
        scores, classes = np.asarray(classes, np.float32), scores
    keep = np.flatnonzero(scores[:count] >= threshold)
    return _detections(boxes[keep], scores[keep], classes[keep].astype(np.int64), labels, transform)


def values_swapped(scores, classes) -> bool:
    """True when the "scores" hold whole class numbers and the "classes" look like scores: in
    [0, 1], best first as the post-processing op writes them, and not all whole numbers."""
    scores, classes = np.asarray(scores, np.float64), np.asarray(classes, np.float64)
    if scores.size == 0:
        return False

    def whole(v):
        return bool(np.all(v == np.round(v)) and np.all(v >= 0))

    def score_like(v):
        return bool(np.all((v >= 0) & (v <= 1)) and np.all(np.diff(v) <= 0))

    return whole(scores) and not whole(classes) and score_like(classes)


def decode_boxes(encodings: np.ndarray, anchors: np.ndarray, scales=BOX_CODER_SCALES) -> np.ndarray:
    """Centre-size box encodings (ty, tx, th, tw) + anchors (yc, xc, h, w) -> (ymin, xmin, ymax, xmax)."""
    enc = np.asarray(encodings, np.float32).reshape(-1, 4)
    anchors = np.asarray(anchors, np.float32).reshape(-1, 4)
    sy, sx, sh, sw = (np.float32(s) for s in scales)
    yc = enc[:, 0] / sy * anchors[:, 2] + anchors[:, 0]
    xc = enc[:, 1] / sx * anchors[:, 3] + anchors[:, 1]
    half_h = 0.5 * np.exp(enc[:, 2] / sh) * anchors[:, 2]
    half_w = 0.5 * np.exp(enc[:, 3] / sw) * anchors[:, 3]
    return np.stack([yc - half_h, xc - half_w, yc + half_h, xc + half_w], axis=1)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of [N, 4] and [M, 4] boxes given as (y1, x1, y2, x2) or (x1, y1, x2, y2)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    d1 = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    d2 = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    np.maximum(d1, 0, out=d1)
    np.maximum(d2, 0, out=d2)
    inter = np.multiply(d1, d2, out=d1)
    area_a = np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)
    area_b = np.maximum(b[:, 2] - b[:, 0], 0) * np.maximum(b[:, 3] - b[:, 1], 0)
    union = area_a[:, None] + area_b[None, :] - inter
    np.maximum(union, np.float32(1e-12), out=union)
    return np.divide(inter, union, out=d2)


def nms(boxes, scores, classes, iou_threshold=0.5, max_detections=100, max_candidates=300) -> np.ndarray:
    """Greedy class-aware non-maximum suppression; indices of the kept boxes, best first.

    Boxes of different classes never suppress each other. Only the `max_candidates` best
    scores enter the IoU matrix, which keeps it small whatever the anchor count.
    """
    scores = np.asarray(scores)
    if scores.size == 0:
        return np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")[:max_candidates]
    cand = np.asarray(boxes, np.float32)[order]
    iou = iou_matrix(cand, cand)
    cls = np.asarray(classes)[order]
    overlaps = (iou > iou_threshold) & (cls[:, None] == cls[None, :])
    suppressed = np.zeros(len(order), bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= max_detections:
            break
        suppressed |= overlaps[i]
    return order[np.asarray(keep, np.int64)]


def decode_raw(encodings, class_scores, anchors, *, scales=BOX_CODER_SCALES, threshold=0.5, iou_threshold=0.5,
               max_detections=100, class_agnostic=False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SSD outputs of one image -> (boxes [M, 4] normalised ymin, xmin, ymax, xmax, scores [M],
    classes [M]), best first: best foreground class per anchor, threshold, decode, NMS.

    `class_agnostic`: one NMS over all classes, as the post-processing op's fast mode does.
    """
    scores_all = np.asarray(class_scores, np.float32).reshape(len(anchors), -1)[:, 1:]  # drop background
    classes = np.argmax(scores_all, axis=1)
    scores = scores_all[np.arange(len(classes)), classes]
    keep = np.flatnonzero(scores >= threshold)
    enc = np.asarray(encodings, np.float32).reshape(-1, 4)[keep]
    boxes = decode_boxes(enc, np.asarray(anchors, np.float32)[keep], scales)
    suppress_by = np.zeros(len(keep), np.int64) if class_agnostic else classes[keep]
    kept = nms(boxes, scores[keep], suppress_by, iou_threshold, max_detections)
    return boxes[kept], scores[keep][kept], classes[keep][kept]


def from_raw(encodings, class_scores, anchors, labels, transform, *, scales=BOX_CODER_SCALES,
             threshold=0.5, iou_threshold=0.5, max_detections=100) -> list[Detection]:
    """Detections from raw SSD outputs (`decode_raw`), boxes in frame pixels."""
    boxes, scores, classes = decode_raw(encodings, class_scores, anchors, scales=scales, threshold=threshold,
                                        iou_threshold=iou_threshold, max_detections=max_detections)
    return _detections(boxes, scores, classes, labels, transform)


def _detections(boxes_yxyx, scores, classes, labels, transform) -> list[Detection]:
    """Normalised (ymin, xmin, ymax, xmax) model boxes -> Detections in frame pixels, best first."""
    if len(scores) == 0:
        return []
    order = np.argsort(-np.asarray(scores), kind="stable")
    frame_boxes = transform.boxes_to_frame(np.asarray(boxes_yxyx)[order]).tolist()
    indices, values = np.asarray(classes)[order].tolist(), np.asarray(scores, np.float32)[order].tolist()
    return [Detection(int(i), label_for(labels, int(i)), v, tuple(box))
            for i, v, box in zip(indices, values, frame_boxes, strict=True)]
