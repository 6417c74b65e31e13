"""Draw results on a frame: class labels and scores, boxes coloured by class, a HUD with FPS and latency.

Used by `edgevision run` on every frame and by `edgevision predict --save-dir`.

    annotated = draw(frame_bgr, result, hud={"fps": 29.7, "stages_ms": {"inference": 18.2}})
"""

from __future__ import annotations

import colorsys

import numpy as np

# Short names keep the HUD on one line at 640 px.
_STAGE_NAMES = {"capture": "cap", "preprocess": "pre", "inference": "inf", "postprocess": "post", "render": "render"}
_GOLDEN = 0.618033988749895


def class_color(index: int) -> tuple[int, int, int]:
    """A BGR colour for a class index: the same index always gets the same colour, neighbours differ."""
    hue = (int(index) * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def draw(frame: np.ndarray, result, hud: dict | None = None, *, copy: bool = True) -> np.ndarray:
    """Annotate `frame` (BGR uint8) with `result` (`.top_k` or `.detections`) and an optional HUD.

    `hud` may hold "fps" (float), "stages_ms" ({stage: ms}), "model" (str) and "dropped" (int).
    Returns the annotated image: a copy unless `copy=False`.
    """
    image = frame.copy() if copy else frame
    style = _Style(image.shape)
    detections = getattr(result, "detections", None) if result is not None else None
    top_k = getattr(result, "top_k", None) if result is not None else None
    if detections:
        _draw_detections(image, detections, style)
    if top_k:
        lines = [(f"{c.label} {c.score:.2f}", class_color(c.index)) for c in top_k]
        _draw_panel(image, lines, style, corner="top-left")
    if hud:
        _draw_panel(image, [(line, (255, 255, 255)) for line in hud_lines(hud)], style, corner="bottom-left")
    return image


def hud_lines(hud: dict) -> list[str]:
    """The HUD text: 'FPS 29.7  dropped 3' then 'cap 3.1  pre 0.4  inf 18.2  post 0.1  render 2.0 ms'."""
    lines = []
    head = []
    if hud.get("model"):
        head.append(str(hud["model"]))
    if hud.get("fps") is not None:
        head.append(f"FPS {hud['fps']:.1f}")
    if hud.get("dropped"):
        head.append(f"dropped {hud['dropped']}")
    if head:
        lines.append("  ".join(head))
    stages = hud.get("stages_ms") or {}
    if stages:
        lines.append("  ".join(f"{_STAGE_NAMES.get(k, k)} {v:.1f}" for k, v in stages.items()) + " ms")
    return lines


class _Style:
    """Font size and line thickness scaled to the frame (readable at 320 px and at 1080p)."""

    def __init__(self, shape):
        import cv2

        height = shape[0]
        self.font = cv2.FONT_HERSHEY_SIMPLEX
        self.scale = max(0.4, height / 720.0 * 0.8)
        self.thickness = max(1, round(height / 360))
        (_, text_h), baseline = cv2.getTextSize("Ag", self.font, self.scale, self.thickness)
        self.line_h = text_h + baseline + 4
        self.pad = 4


def _text_with_background(image, text, x, y, color, style, background=(0, 0, 0)):
    """Text whose top-left corner is (x, y), on a filled box so it reads on any picture."""
    import cv2

    (w, h), baseline = cv2.getTextSize(text, style.font, style.scale, style.thickness)
    x = int(min(max(x, 0), max(image.shape[1] - w - 2 * style.pad, 0)))
    y = int(min(max(y, 0), max(image.shape[0] - h - baseline - 2 * style.pad, 0)))
    cv2.rectangle(image, (x, y), (x + w + 2 * style.pad, y + h + baseline + 2 * style.pad), background, cv2.FILLED)
    cv2.putText(image, text, (x + style.pad, y + style.pad + h), style.font, style.scale, color,
                style.thickness, cv2.LINE_AA)
    return h + baseline + 2 * style.pad


def _draw_panel(image, lines, style, corner):
    y = style.pad if corner == "top-left" else image.shape[0] - style.pad - len(lines) * (style.line_h + 2 * style.pad)
    for text, color in lines:
        y += _text_with_background(image, text, style.pad, y, color, style)


def _draw_detections(image, detections, style):
    import cv2

    height, width = image.shape[:2]
    for det in detections:
        color = class_color(det.index)
        xmin, ymin, xmax, ymax = (int(round(v)) for v in det.box)
        xmin, xmax = max(0, min(xmin, width - 1)), max(0, min(xmax, width - 1))
        ymin, ymax = max(0, min(ymin, height - 1)), max(0, min(ymax, height - 1))
        cv2.rectangle(image, (xmin, ymin), (xmax, ymax), color, style.thickness + 1)
        label = f"{det.label} {det.score:.2f}"
        text_color = (0, 0, 0) if sum(color) > 380 else (255, 255, 255)
        _text_with_background(image, label, xmin, ymin - style.line_h - style.pad, text_color, style, background=color)
