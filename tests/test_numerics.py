"""The tolerance helpers of tests/numerics.py bound what float32 rounding really does."""

import numpy as np
import pytest

from tests.numerics import UNIT_ROUNDOFF, fan_ins, float32_difference, float32_relative_error, gamma


@pytest.mark.slow  # Keras
def test_the_float32_bound_holds_for_sums_in_any_order():
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu", name="hidden"),
                              keras.layers.Dense(5, name="head")])
    assert fan_ins(model) == [64, 32]
    assert float32_relative_error(model) == gamma(64 + 3) + gamma(32 + 3)
    x = np.random.default_rng(0).normal(0, 3, (50, 64)).astype(np.float32)
    (w1, b1), (w2, b2) = (layer.get_weights() for layer in model.layers)

    def forward(dtype, order):  # sums term by term in the given order: the worst kind of accumulation
        h = np.zeros((len(x), 32), dtype)
        for i in order(64):
            h += x[:, i:i + 1].astype(dtype) * w1[i].astype(dtype)
        h = np.maximum(h + b1.astype(dtype), 0)
        y = np.zeros((len(x), 5), dtype)
        for i in order(32):
            y += h[:, i:i + 1] * w2[i].astype(dtype)
        return y + b2.astype(dtype)

    exact = forward(np.float64, range)
    forwards, backwards = forward(np.float32, range), forward(np.float32, lambda n: range(n - 1, -1, -1))
    bound = float32_difference(model, "head", x)
    assert np.abs(forwards - backwards).max() <= bound
    assert np.abs(forwards - exact).max() <= bound / 2
    assert np.abs(forwards - backwards).max() > 10 * UNIT_ROUNDOFF  # the orders do differ: the test measures something
