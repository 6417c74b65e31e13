"""`--strategy default|mirrored|multiworker`: TensorFlow's own tf.distribute engine.

mirrored: synchronous data parallelism over the GPUs of one machine, or over every logical
CPU device when there is no GPU (that is how the tests run it on two logical CPUs).
multiworker: MultiWorkerMirroredStrategy over the machines named in the TF_CONFIG
environment variable (see the TensorFlow guide "Multi-worker training with Keras"); every
worker runs the same command, and only the chief (`is_chief`) writes the run folder.
"""

from __future__ import annotations

import json
import os

from edgevision.errors import UserError
from edgevision.train.options import STRATEGIES


def make_strategy(name: str):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "multiworker":
        is_chief(name)  # a TF_CONFIG that is not JSON answers in one line
        return _multi_worker_strategy()
    raise UserError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")


def _multi_worker_strategy():
    """MultiWorkerMirroredStrategy whose `reduce` accepts what Keras 3's `fit` passes it.

    Keras 3 (TensorFlow backend) reduces the first (x, y) batch, a nested structure, to build the
    model, and each step's scalar logs along axis 0; MultiWorkerMirroredStrategy refuses both
    ("Attempt to convert a value (PerReplica ...)", "Invalid reduction dimension 0";
    keras-team/keras#20585). Here a structure is reduced leaf by leaf, a scalar across replicas.
    """
    import tensorflow as tf

    class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis):
            if tf.nest.is_nested(value) and not isinstance(value, tf.distribute.DistributedValues):
                return tf.nest.map_structure(lambda leaf: self.reduce(reduce_op, leaf, axis), value)
            if axis is not None and all(v.shape.rank == 0 for v in self.experimental_local_results(value)):
                axis = None
            return super().reduce(reduce_op, value, axis)

    return MultiWorkerMirroredStrategy()


def is_chief(strategy_name: str, environ=os.environ) -> bool:
    """Whether this process writes the run folder: always, except on the workers of a multiworker
    run other than the chief (TF_CONFIG's "chief" task, else worker 0), which would race on its files."""
    if strategy_name != "multiworker":
        return True
    try:
        config = json.loads(environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError as exc:
        raise UserError(f"TF_CONFIG is not valid JSON ({exc}): see TensorFlow's multi-worker guide") from exc
    cluster, task = config.get("cluster") or {}, config.get("task") or {}
    if not cluster:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0
