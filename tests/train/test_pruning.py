import numpy as np
import pytest

from edgevision.train import pruning


def test_polynomial_schedule_follows_zhu_and_gupta():
    values = [pruning.polynomial_sparsity(t, 0.0, 0.5, 10, 20) for t in (0, 10, 15, 20, 30)]
    assert values == pytest.approx([0.0, 0.0, 0.5 - 0.5 * 0.5**3, 0.5, 0.5])


def test_magnitude_mask_zeroes_exactly_the_smallest():
    weights = np.array([[0.1, -3.0], [2.0, -0.2]], np.float32)
    assert pruning.magnitude_mask(weights, 0.5).tolist() == [[0, 1], [1, 0]]


def _nested_model():
    import keras

    inner_in = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(8, 3, name="conv")(inner_in)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.DepthwiseConv2D(3, name="dw")(x)
    x = keras.layers.SeparableConv2D(16, 3, name="sep")(x)
    backbone = keras.Model(inner_in, x, name="backbone")
    inputs = keras.Input((12, 12, 3))
    y = keras.layers.GlobalAveragePooling2D()(backbone(inputs))
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(y)
    return keras.Model(inputs, outputs)


def test_callback_keeps_pruned_weights_zero_through_training_and_never_touches_bias_or_batchnorm():
    import keras

    keras.utils.set_random_seed(0)
    model = _nested_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    names = [name for name, _ in pruning.prunable_kernels(model)]
    assert names == [
        "backbone/conv/kernel", "backbone/dw/kernel", "backbone/sep/depthwise_kernel",
        "backbone/sep/pointwise_kernel", "head/kernel",
    ]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 12, 12, 3)).astype("float32"), rng.integers(0, 3, 64)
    callback = pruning.make_callback(0.5, begin_step=0, end_step=8, frequency=2)
    model.fit(x, y, batch_size=8, epochs=3, callbacks=[callback], verbose=0)
    model = pruning.strip(model, callback)
    report = pruning.sparsity_report(model)
    assert all(layer["sparsity"] == pytest.approx(0.5, abs=0.03) for layer in report["layers"].values())
    assert report["global_sparsity"] >= 0.49
    # Adam moves every weight at every step; only the re-applied masks keep these at zero.
    bias = model.get_layer("backbone").get_layer("conv").bias.numpy()
    gamma = model.get_layer("backbone").get_layer("bn").gamma.numpy()
    assert np.count_nonzero(bias == 0) == 0 and np.count_nonzero(gamma == 0) == 0
