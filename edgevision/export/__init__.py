"""Export stage: a trained `model.keras` -> TFLite (fp32, fp16, dynamic, int8) and ONNX files,
each with its description embedded and beside it, plus a parity and size report.

`export_model` (in `pipeline.py`) is the API behind `edgevision export`.
"""
