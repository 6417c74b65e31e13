"""Magnitude pruning for Keras 3 models (TFMOT only prunes legacy Keras 2 models).

Zhu & Gupta, "To prune, or not to prune: exploring the efficacy of pruning for model
compression" (2017): during training the sparsity of every prunable kernel rises from
s_i to s_f along

    s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n * dt)) ** 3,   t = t0, t0 + dt, ..., t0 + n * dt

and at each update the smallest-magnitude weights of each kernel are masked to zero. The
masks are re-applied after every batch, so pruned weights stay exactly zero whatever the
optimizer does. Prunable: the kernels of Conv2D, DepthwiseConv2D, SeparableConv2D
(depthwise and pointwise) and Dense layers, found in nested models too; never biases,
never BatchNorm. Layers are not wrapped, so the model stays a plain Keras model that
saves, loads and converts as usual; `strip` applies the final masks and returns it.
"""

from __future__ import annotations

import numpy as np

KERNEL_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel")
FINE_TUNING_RAMP = 2 / 3  # during fine-tuning, sparsity reaches its target after this share of the steps


def polynomial_sparsity(step, initial_sparsity, final_sparsity, begin_step, end_step, power=3):
    """The Zhu & Gupta target sparsity at `step` (initial before begin_step, final after end_step)."""
    if step <= begin_step:
        return initial_sparsity
    if step >= end_step:
        return final_sparsity
    progress = (step - begin_step) / (end_step - begin_step)
    return final_sparsity + (initial_sparsity - final_sparsity) * (1 - progress) ** power


def prunable_kernels(model):
    """[(name, variable)] of every prunable kernel in `model`, nested models included."""
    import keras

    prunable_types = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D, keras.layers.Dense)
    found, seen = [], set()
    for prefix, layer in _all_layers(model):
        if not isinstance(layer, prunable_types):
            continue
        for variable in layer.weights:
            if variable.name in KERNEL_NAMES and id(variable) not in seen:
                seen.add(id(variable))
                found.append((f"{prefix}{layer.name}/{variable.name}", variable))
    return found


def _all_layers(model, prefix=""):
    for layer in getattr(model, "layers", []):
        yield prefix, layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer, f"{prefix}{layer.name}/")


def magnitude_mask(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """A 0/1 mask zeroing the round(sparsity * size) smallest-magnitude weights."""
    count = int(round(sparsity * weights.size))
    mask = np.ones(weights.size, weights.dtype)
    if count > 0:
        mask[np.argsort(np.abs(weights).ravel(), kind="stable")[:count]] = 0
    return mask.reshape(weights.shape)


def sparsity_report(model) -> dict:
    """{"global_sparsity", "layers": {kernel: {"sparsity", "zeros", "weights"}}} counted from the weights."""
    layers, zeros_total, size_total = {}, 0, 0
    for name, variable in prunable_kernels(model):
        values = np.asarray(variable.numpy())
        zeros = int(np.count_nonzero(values == 0))
        layers[name] = {"sparsity": round(zeros / values.size, 6), "zeros": zeros, "weights": int(values.size)}
        zeros_total += zeros
        size_total += values.size
    return {"global_sparsity": round(zeros_total / max(size_total, 1), 6), "layers": layers}


def make_callback(target_sparsity, begin_step, end_step, frequency=None, initial_step=0, initial_sparsity=0.0):
    """The Keras callback that prunes to `target_sparsity` between begin_step and end_step (batches)."""
    import keras

    class MagnitudePruning(keras.callbacks.Callback):
        """Raises sparsity on the polynomial schedule and keeps pruned weights at zero after every batch."""

        def __init__(self):
            super().__init__()
            self.target_sparsity = float(target_sparsity)
            self.begin_step, self.end_step = int(begin_step), max(int(end_step), int(begin_step) + 1)
            self.frequency = int(frequency or max(1, (self.end_step - self.begin_step) // 10))
            self.step = int(initial_step)
            self.current_sparsity = 0.0
            self._kernels = None
            self._masks = None

        def on_train_begin(self, logs=None):
            self._kernels = [variable for _, variable in prunable_kernels(self.model)]
            # On --resume the weights already pruned are exactly zero: start from those masks.
            self._masks = [_as_tensor(np.asarray(v.numpy()) != 0) for v in self._kernels]
            self.current_sparsity = polynomial_sparsity(
                self.step, initial_sparsity, self.target_sparsity, self.begin_step, self.end_step
            )
            if self.step > self.begin_step:
                self._update_masks(self.current_sparsity)

        def on_train_batch_end(self, batch, logs=None):
            self.step += 1
            due = self.begin_step <= self.step <= self.end_step and (
                (self.step - self.begin_step) % self.frequency == 0 or self.step == self.end_step
            )
            if due:
                self.current_sparsity = polynomial_sparsity(
                    self.step, initial_sparsity, self.target_sparsity, self.begin_step, self.end_step
                )
                self._update_masks(self.current_sparsity)
            else:
                self._apply_masks()

        def on_train_end(self, logs=None):
            # A run cut short (early stop, Ctrl-C) still leaves the schedule's value it reached.
            self._apply_masks()

        def finish(self):
            """Prune to the final target now (used when training ends before end_step)."""
            self.current_sparsity = self.target_sparsity
            self._update_masks(self.target_sparsity)

        def _update_masks(self, sparsity):
            self._masks = [_as_tensor(magnitude_mask(np.asarray(v.numpy()), sparsity)) for v in self._kernels]
            self._apply_masks()

        def _apply_masks(self):
            for variable, mask in zip(self._kernels, self._masks, strict=True):
                variable.assign(variable * mask)

    return MagnitudePruning()


def fine_tuning_callback(target_sparsity, steps_per_epoch, epochs, epochs_done=0):
    """The pruning callback of `train --prune`: sparsity rises from the first fine-tuning step and
    reaches its target after FINE_TUNING_RAMP of the `epochs`; `epochs_done` of them already ran (--resume)."""
    end_step = max(1, int(steps_per_epoch * epochs * FINE_TUNING_RAMP))
    return make_callback(target_sparsity, begin_step=0, end_step=end_step, initial_step=epochs_done * steps_per_epoch)


def _as_tensor(mask):
    import keras

    return keras.ops.convert_to_tensor(np.asarray(mask, np.float32))


def strip(model, callback=None):
    """The plain model with its final masks applied (no wrappers to remove: layers were never wrapped)."""
    if callback is not None and callback._kernels is not None:
        callback._apply_masks()
    return model
