"""The TensorFlow-free runtime: load an exported model and run it on BGR frames.

Nothing under `edgevision.runtime` imports TensorFlow or Keras (a test proves it): a
Raspberry Pi needs numpy, OpenCV and LiteRT (or ONNX Runtime) only.
"""
