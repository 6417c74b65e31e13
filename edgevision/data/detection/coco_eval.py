"""COCO detection metrics through pycocotools: mAP@[.5:.95] and mAP@.5 (up to 100 detections per
image, areas all), for the Keras model in training and for every exported artifact alike.

Inputs are plain arrays per image, boxes [xmin, ymin, xmax, ymax] in pixels of the same image
for ground truth and detections; class ids index the dataset's class list (no background).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

from edgevision.runtime.detection import BOX_CODER_SCALES


def coco_map(ground_truth, detections) -> dict:
    """{"map50_95", "map50", "num_images", "num_detections"} for per-image lists.

    ground_truth: per image (boxes [K, 4], classes [K]); detections: per image (boxes [M, 4],
    scores [M], classes [M]), same order. Classes with no ground truth are left out of the mean,
    as COCO does; no ground truth at all gives 0.0.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if len(ground_truth) != len(detections):
        raise ValueError(f"{len(ground_truth)} ground-truth images but {len(detections)} detection lists")
    images, annotations, results, class_ids = [], [], [], set()
    for image_id, ((gt_boxes, gt_classes), (boxes, scores, classes)) in enumerate(
        zip(ground_truth, detections, strict=True), start=1
    ):
        images.append({"id": image_id})
        for box, cls in zip(_xywh(gt_boxes), np.asarray(gt_classes).reshape(-1), strict=True):
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": int(cls) + 1,
                "bbox": box, "area": box[2] * box[3], "iscrowd": 0,
            })
            class_ids.add(int(cls) + 1)
        for box, score, cls in zip(_xywh(boxes), np.asarray(scores).reshape(-1), np.asarray(classes).reshape(-1),
                                   strict=True):
            results.append({"image_id": image_id, "category_id": int(cls) + 1, "bbox": box, "score": float(score)})
    summary = {"map50_95": 0.0, "map50": 0.0, "num_images": len(images), "num_detections": len(results)}
    if not annotations or not results:
        return summary
    categories = sorted(class_ids | {r["category_id"] for r in results})
    truth = COCO()
    truth.dataset = {"images": images, "annotations": annotations, "categories": [{"id": c} for c in categories]}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress; --json needs a clean stdout
        truth.createIndex()
        found = truth.loadRes(results)
        evaluation = COCOeval(truth, found, "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    summary["map50_95"] = max(float(evaluation.stats[0]), 0.0)
    summary["map50"] = max(float(evaluation.stats[1]), 0.0)
    return summary


def _xywh(boxes) -> list[list[float]]:
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    return [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in boxes.tolist()]


def detections_from_raw(encodings, class_scores, anchors, image_size, box_scales=BOX_CODER_SCALES,
                        score_threshold=0.05, iou_threshold=0.6, max_detections=100, class_agnostic=False):
    """Raw SSD outputs of one image -> (boxes [M, 4] xmin, ymin, xmax, ymax pixels of `image_size`
    (height, width), scores [M], classes [M]), with the runtime's decoder and NMS (`decode_raw`)."""
    from edgevision.runtime.detection import decode_raw
    from edgevision.runtime.preprocess import Transform

    boxes, scores, classes = decode_raw(encodings, class_scores, anchors, scales=box_scales,
                                        threshold=score_threshold, iou_threshold=iou_threshold,
                                        max_detections=max_detections, class_agnostic=class_agnostic)
    height, width = image_size
    whole_image = Transform(1.0, 1.0, 0.0, 0.0, width, height, width, height)
    return whole_image.boxes_to_frame(boxes), scores, classes
