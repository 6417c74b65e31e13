"""Quantized inputs fed from pixels: every one of the 256 pixel levels stays distinct."""

import numpy as np
import pytest

from edgevision.runtime.backends import TensorSpec
from edgevision.runtime.preprocess import Preprocessor, quantization_lut


@pytest.mark.parametrize("dtype, zero_point, mode", [(np.uint8, 127, "identity"), (np.int8, -1, "shift128")])
def test_mean_127_5_inputs_keep_every_pixel_level(dtype, zero_point, mode):
    """What TF's converter gives a model fed (pixel - 127.5) / 127.5: scale 1/127.5, so each pixel lands on
    a half; rounding half to even merged the levels in pairs (100 and 101 both became 101 - 128)."""
    scale = float(np.float32(1 / 127.5))  # as stored in the model file: a little over 1 / 127.5
    lut = quantization_lut(np.dtype(dtype), scale, zero_point, (127.5,) * 3, (127.5,) * 3)
    assert all(len(np.unique(lut[:, c])) == 256 for c in range(3))
    prep = Preprocessor(TensorSpec("image", (1, 16, 16, 3), np.dtype(dtype), scale, zero_point))
    assert prep.mode == mode  # the raw pixels (uint8) or the pixels - 128 (int8), as MediaPipe feeds them
    frame = np.arange(16 * 16 * 3, dtype=np.uint16).reshape(16, 16, 3).astype(np.uint8)
    tensor, _ = prep(frame)
    expected = frame[..., ::-1].astype(np.int16) - (0 if dtype == np.uint8 else 128)
    assert np.array_equal(tensor[0].astype(np.int16), expected)
