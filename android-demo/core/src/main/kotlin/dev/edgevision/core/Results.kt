package dev.edgevision.core

/** What one frame gave: top-k classes (classifiers) or detections (detectors), in upright-image pixels. */
class FrameResult(val topK: List<ClassScore>, val detections: List<Detection>)

/** Post-processing settings a user would tune in the app. */
class PostprocessOptions(
    val topK: Int = 3,
    val scoreThreshold: Float = 0.5f,
    val iouThreshold: Float = 0.5f,
    val maxDetections: Int = 10
)

/** The model's dequantized outputs to a [FrameResult], as the sidecar's `output_layout` says. */
class Postprocessor(private val info: ModelInfo, private val labels: List<String>, private val options: PostprocessOptions = PostprocessOptions()) {
    fun run(outputs: List<OutputTensor>, imageWidth: Int, imageHeight: Int): FrameResult {
        val transform = FrameTransform(info.inputWidth, info.inputHeight, imageWidth, imageHeight)
        return run(outputs, transform)
    }

    fun run(outputs: List<OutputTensor>, transform: FrameTransform): FrameResult = when (info.outputLayout) {
        "probabilities", "logits" -> {
            if (outputs.size != 1) throw ModelOutputException("a classifier has one output, this model has ${outputs.size}")
            val scores = outputs[0].values
            val top = Classification.topK(scores, labels, options.topK, logits = info.outputLayout == "logits")
            FrameResult(top, emptyList())
        }
        "ssd_postprocessed" ->
            FrameResult(emptyList(), Detections.fromPostprocessed(outputs, labels, transform, options.scoreThreshold))
        else -> {
            if (outputs.size != 2) throw ModelOutputException("ssd_raw has two outputs (box encodings, class scores), this model has ${outputs.size}")
            val boxFirst = outputs[0].shape.size == 3 && outputs[0].shape[2] == 4
            val encodings = outputs[if (boxFirst) 0 else 1]
            val scores = outputs[if (boxFirst) 1 else 0]
            FrameResult(
                emptyList(),
                Detections.fromRaw(
                    encodings.values, scores.values, info.anchors!!, info.boxScales, labels, transform,
                    options.scoreThreshold, options.iouThreshold, options.maxDetections
                )
            )
        }
    }

    /** Number of classes the model's outputs hold (ssd_raw: without background), to check the labels against. */
    fun classCount(outputShapes: List<IntArray>): Int? = when (info.outputLayout) {
        "probabilities", "logits" -> outputShapes.firstOrNull()?.let { s -> s.fold(1) { a, b -> a * b } }
        "ssd_raw" -> outputShapes.firstOrNull { !(it.size == 3 && it[2] == 4) }?.let { it[it.size - 1] - 1 }
        else -> null
    }
}
