"""The two shapes detection data takes: a `Record` as a reader found it on disk, and
`DetectionData`, one loaded split as arrays. Readers (coco, voc, yolo, synthetic) build these;
the package (`edgevision.data.detection`) checks, splits and loads them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np


class DetectionData(NamedTuple):
    images: np.ndarray
    boxes: list
    classes: list
    class_names: list


@dataclass
class Record:
    """One annotated image as a reader found it. Boxes are pixels, or fractions of the image
    size when `normalised` (YOLO); class id -1 marks a class name the class list lacks."""

    path: Path
    boxes: np.ndarray
    classes: np.ndarray
    normalised: bool = False
