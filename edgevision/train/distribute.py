"""`--strategy default|mirrored|multiworker`: TensorFlow's own tf.distribute engine.

mirrored: synchronous data parallelism over the GPUs of one machine, or over every logical
CPU device when there is no GPU (that is how the tests run it on two logical CPUs).
multiworker: MultiWorkerMirroredStrategy over the machines named in the TF_CONFIG
environment variable (see the TensorFlow guide "Multi-worker training with Keras").
"""

from __future__ import annotations

import json
import os

from edgevision.errors import UserError

STRATEGIES = ("default", "mirrored", "multiworker")


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
        config = os.environ.get("TF_CONFIG")
        if config:
            try:
                json.loads(config)
            except json.JSONDecodeError as exc:
                raise UserError(f"TF_CONFIG is not valid JSON ({exc}): see TensorFlow's multi-worker guide") from exc
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise UserError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")


def is_chief(strategy) -> bool:
    """Only the chief worker writes the run folder (the others would race on the same files)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster:
        return True
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0
