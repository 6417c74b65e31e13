"""SSD training targets and losses (Liu et al. 2016, arXiv:1512.02325; focal loss: Lin et al. 2017,
arXiv:1708.02002), written with `keras.ops` and `keras.utils.bounding_boxes`.

Target assignment, as in the TF Object Detection API's argmax matcher with
`force_match_for_each_row`: an anchor is positive when its IoU with a ground-truth box is at
least MATCH_IOU (it takes the box it overlaps most), and each ground-truth box also claims the
anchor it overlaps most, whatever that IoU. Positive anchors regress the centre-size encoding of
their box (scales BOX_CODER_SCALES, the runtime's decoder inverted); every other anchor is background
(class 0).

Losses, both normalised by the number of positive anchors in the batch: smooth L1 (Huber, delta
1) on the box encodings of positive anchors; sigmoid focal loss (alpha 0.25, gamma 2) on all
anchors and all C + 1 class columns, background included.
"""

from __future__ import annotations

import numpy as np

from edgevision.runtime.detection import BOX_CODER_SCALES

MATCH_IOU = 0.5
FOCAL_ALPHA, FOCAL_GAMMA = 0.25, 2.0
MIN_BOX_SIDE = 1e-3  # normalised; smaller (e.g. cropped away by augmentation) counts as padding


def assign_targets(anchors, boxes, labels, image_size, box_scales=BOX_CODER_SCALES):
    """Per-anchor targets for a batch.

    anchors: [N, 4] (ycenter, xcenter, h, w) normalised; boxes: [B, K, 4] xmin, ymin, xmax, ymax in
    pixels of `image_size` (height, width); labels: [B, K] class ids, -1 for padding.
    Returns (box_targets [B, N, 5]: the 4 encodings + a positive flag, class_targets [B, N] int32:
    0 background, label + 1 for a matched anchor).
    """
    from keras import ops
    from keras.utils import bounding_boxes

    height, width = image_size
    anchors = ops.convert_to_tensor(np.asarray(anchors, np.float32))
    boxes = ops.cast(boxes, "float32") / ops.convert_to_tensor([width, height, width, height], "float32")
    labels = ops.cast(labels, "int32")
    valid = (labels >= 0) & (boxes[..., 2] - boxes[..., 0] > MIN_BOX_SIDE) & (boxes[..., 3] - boxes[..., 1] > MIN_BOX_SIDE)
    anchor_corners = bounding_boxes.convert_format(anchors, source="center_yxhw", target="xyxy")
    iou = bounding_boxes.compute_iou(anchor_corners, boxes, bounding_box_format="xyxy")  # [B, N, K]
    iou = ops.where(valid[:, None, :], iou, -1.0)
    num_anchors = anchors.shape[0]

    best_box = ops.argmax(iou, axis=2)  # [B, N]
    best_iou = ops.max(iou, axis=2)
    # Each valid box claims its best anchor: forced[b, n, k] = 1 when anchor n is box k's best.
    best_anchor = ops.argmax(iou, axis=1)  # [B, K]
    forced = ops.one_hot(best_anchor, num_anchors, axis=1) * ops.cast(valid[:, None, :], "float32")  # [B, N, K]
    is_forced = ops.max(forced, axis=2) > 0
    matched = ops.where(is_forced, ops.argmax(forced, axis=2), best_box)
    positive = is_forced | (best_iou >= MATCH_IOU)

    matched_boxes = ops.take_along_axis(boxes, ops.repeat(matched[..., None], 4, axis=2), axis=1)  # [B, N, 4]
    matched_labels = ops.take_along_axis(labels, matched, axis=1)
    variance = [1.0 / s for s in box_scales]
    encodings = bounding_boxes.encode_box_to_deltas(
        anchors, matched_boxes, anchor_format="center_yxhw", box_format="xyxy", variance=variance
    )
    positive_f = ops.cast(positive, "float32")
    box_targets = ops.concatenate([encodings * positive_f[..., None], positive_f[..., None]], axis=-1)
    class_targets = ops.where(positive, matched_labels + 1, 0)
    return box_targets, ops.cast(class_targets, "int32")


def box_loss(y_true, y_pred):
    """Smooth L1 over the positive anchors' encodings, divided by the number of positives."""
    from keras import ops

    positive = y_true[..., 4]
    delta = ops.abs(y_true[..., :4] - y_pred)
    huber = ops.where(delta < 1.0, 0.5 * delta**2, delta - 0.5)
    return ops.sum(ops.sum(huber, axis=-1) * positive) / ops.maximum(ops.sum(positive), 1.0)


def focal_loss(y_true, y_pred):
    """Sigmoid focal loss on class logits [B, N, C + 1] against class ids [B, N], over positives."""
    from keras import ops

    classes = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:2]), "int32")
    target = ops.one_hot(classes, ops.shape(y_pred)[-1])
    probability = ops.sigmoid(y_pred)
    cross_entropy = ops.maximum(y_pred, 0.0) - y_pred * target + ops.log1p(ops.exp(-ops.abs(y_pred)))
    p_t = target * probability + (1 - target) * (1 - probability)
    alpha = target * FOCAL_ALPHA + (1 - target) * (1 - FOCAL_ALPHA)
    loss = alpha * (1 - p_t) ** FOCAL_GAMMA * cross_entropy
    num_positive = ops.sum(ops.cast(classes > 0, "float32"))
    return ops.sum(loss) / ops.maximum(num_positive, 1.0)
