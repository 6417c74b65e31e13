"""The TensorFlow-free runtime: load an exported model and run it on BGR frames.

    from edgevision.runtime import load
    model = load("model_int8.tflite", threads=2)   # or .onnx; -> Classifier or Detector
    result = model.predict(frame_bgr)              # HxWx3 uint8 BGR, as OpenCV gives it
    result = model.predict(frame_rgb, color="rgb") # or RGB, as PIL gives it (a PIL image works too)
    result.top_k / result.detections, result.timings_ms

Nothing under `edgevision.runtime` imports TensorFlow or Keras (a test proves it): a
Raspberry Pi needs numpy, OpenCV and LiteRT (or ONNX Runtime) only.
"""

from edgevision.runtime.model import ClassificationResult, Classifier, DetectionResult, Detector, load

__all__ = ["load", "Classifier", "Detector", "ClassificationResult", "DetectionResult"]
