"""Run an exported detector through MediaPipe Tasks' ObjectDetector, in a process of its own:
mediapipe is installed apart from the main environment (see test_task_metadata.py).

usage: python mediapipe_probe.py MODEL THRESHOLD PICTURE...
prints one JSON document: {"metadata": {...} | null, "results": [[{"label", "score", "box"}]] | null,
"error": message | null}; boxes are [xmin, ymin, xmax, ymax] in picture pixels, as `predict` gives them.
"""

import json
import sys

sys.modules["tensorflow"] = None  # mediapipe only probes TensorFlow for documentation helpers: keep it out


def read_metadata(data: bytes) -> dict | None:
    """What the model's TFLITE_METADATA says, read with MediaPipe's own generated schema readers."""
    from mediapipe.tasks.metadata import metadata_schema_py_generated as meta
    from mediapipe.tasks.metadata import schema_py_generated as schema

    model = schema.Model.GetRootAs(data, 0)
    for i in range(model.MetadataLength()):
        if model.Metadata(i).Name() == b"TFLITE_METADATA":
            buffer = model.Buffers(model.Metadata(i).Buffer()).DataAsNumpy().tobytes()
            break
    else:
        return None
    root = meta.ModelMetadataT.InitFromPackedBuf(buffer, 0)
    subgraph = root.subgraphMetadata[0]
    image = subgraph.inputTensorMetadata[0]
    normalization = [unit.options for unit in image.processUnits or []
                     if unit.optionsType == meta.ProcessUnitOptions.NormalizationOptions]
    outputs = []
    for tensor in subgraph.outputTensorMetadata:
        props = tensor.content.contentProperties if tensor.content else None
        outputs.append({
            "name": tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name,
            "box_index": [int(i) for i in props.index] if hasattr(props, "index") and props.index is not None else None,
            "files": [(f.name.decode() if isinstance(f.name, bytes) else f.name, f.type)
                      for f in tensor.associatedFiles or []],
        })
    return {
        "identifier_ok": meta.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0),
        "min_parser_version": root.minParserVersion.decode(),
        "mean": None if not normalization else [float(v) for v in normalization[0].mean],
        "std": None if not normalization else [float(v) for v in normalization[0].std],
        "outputs": outputs,
    }


def main() -> None:
    import cv2
    import mediapipe as mp
    import numpy as np
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import ObjectDetector, ObjectDetectorOptions

    model, threshold, pictures = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    doc = {"metadata": read_metadata(open(model, "rb").read()), "results": None, "error": None}
    options = ObjectDetectorOptions(base_options=BaseOptions(model_asset_path=model), score_threshold=threshold)
    try:
        detector = ObjectDetector.create_from_options(options)
    except (ValueError, RuntimeError) as exc:
        doc["error"] = str(exc)
        print(json.dumps(doc))
        return
    doc["results"] = []
    with detector:
        for picture in pictures:
            rgb = np.ascontiguousarray(cv2.imread(picture)[..., ::-1])
            found = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
            doc["results"].append([
                {"label": d.categories[0].category_name, "score": float(d.categories[0].score),
                 "box": [d.bounding_box.origin_x, d.bounding_box.origin_y,
                         d.bounding_box.origin_x + d.bounding_box.width,
                         d.bounding_box.origin_y + d.bounding_box.height]}
                for d in found.detections
            ])
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
