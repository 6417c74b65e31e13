"""The model zoo: architecture builders (Keras 3) behind one registry.

Importing this package does not import TensorFlow or Keras; building a model does.
"""

from edgevision.models.registry import ModelSpec, build_model, get_spec, inference_model, list_specs

__all__ = ["ModelSpec", "build_model", "get_spec", "inference_model", "list_specs"]
