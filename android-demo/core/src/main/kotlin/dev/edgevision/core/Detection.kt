package dev.edgevision.core

/** One detected object; the box is in pixels of the (upright) image the frame came from. */
data class Detection(
    val index: Int,
    val label: String,
    val score: Float,
    val xmin: Float,
    val ymin: Float,
    val xmax: Float,
    val ymax: Float
)

/** One model output after dequantization: its name (signature key when known), shape and values. */
class OutputTensor(val name: String, val shape: IntArray, val values: FloatArray) {
    val size: Int get() = values.size
}

/**
 * Where the frame went in the model input (resized to fill it, no letterbox), to map the
 * model's normalised boxes back to frame pixels as `runtime/preprocess.py`'s Transform does.
 */
class FrameTransform(val inputWidth: Int, val inputHeight: Int, val frameWidth: Int, val frameHeight: Int) {
    private val scaleX = (inputWidth.toDouble() / frameWidth).toFloat()
    private val scaleY = (inputHeight.toDouble() / frameHeight).toFloat()

    /** Normalised (ymin, xmin, ymax, xmax) -> (xmin, ymin, xmax, ymax) frame pixels, clipped to the frame. */
    fun toPixels(b: FloatArray): FloatArray = floatArrayOf(
        clip(b[1] * inputWidth / scaleX, frameWidth), clip(b[0] * inputHeight / scaleY, frameHeight),
        clip(b[3] * inputWidth / scaleX, frameWidth), clip(b[2] * inputHeight / scaleY, frameHeight)
    )

    private fun clip(v: Float, max: Int) = if (v < 0f) 0f else if (v > max) max.toFloat() else v
}

/**
 * Detection post-processing, the same steps as `runtime/detection.py`: the standard four-output
 * SSD layout (TF1 order boxes, classes, scores, count; TF2 order scores, boxes, count, classes),
 * and for raw-output models the best class per anchor, centre-size box decoding with the
 * anchors, then greedy class-aware non-maximum suppression.
 */
object Detections {
    const val MAX_NMS_CANDIDATES = 300

    /** The four SSD post-processing outputs, found by shape and, where shapes agree, by name or order. */
    class SsdOutputs(val boxes: OutputTensor, val classes: OutputTensor, val scores: OutputTensor, val count: OutputTensor)

    fun identify(outputs: List<OutputTensor>): SsdOutputs {
        if (outputs.size != 4) throw ModelOutputException("expected 4 SSD outputs (boxes, classes, scores, count), got ${outputs.size}")
        val boxIndex = outputs.indexOfFirst { it.shape.size == 3 && it.shape[2] == 4 }
        if (boxIndex < 0) throw ModelOutputException("no [1, N, 4] box output among ${shapes(outputs)}")
        val countIndex = outputs.indexOfFirst { it.size == 1 && it.shape.size <= 1 }
        if (countIndex < 0) throw ModelOutputException("no count output among ${shapes(outputs)}")
        val pair = outputs.indices.filter { it != boxIndex && it != countIndex }
        if (pair.size != 2 || pair.any { outputs[it].shape.size != 2 }) {
            throw ModelOutputException("classes and scores are not two [1, N] outputs: ${shapes(outputs)}")
        }
        val names = pair.map { outputs[it].name }
        val scoreNamed = names.map { it.contains("score", ignoreCase = true) }
        val classNamed = names.map { !it.contains("score", ignoreCase = true) && it.contains("class", ignoreCase = true) }
        val classFirst = when {
            classNamed[0] && scoreNamed[1] -> true
            scoreNamed[0] && classNamed[1] -> false
            else -> boxIndex == 0 // TF1 order: boxes, classes, scores, count; TF2: scores, boxes, count, classes
        }
        val classes = outputs[if (classFirst) pair[0] else pair[1]]
        val scores = outputs[if (classFirst) pair[1] else pair[0]]
        return SsdOutputs(outputs[boxIndex], classes, scores, outputs[countIndex])
    }

    /** Standard post-processed SSD outputs to detections, best first (boxes are normalised ymin, xmin, ymax, xmax). */
    fun fromPostprocessed(outputs: List<OutputTensor>, labels: List<String>, transform: FrameTransform, threshold: Float): List<Detection> {
        val o = identify(outputs)
        val n = Math.max(0, Math.min(Math.min(o.count.values[0].toInt(), o.scores.size), o.boxes.size / 4))
        val result = ArrayList<Detection>()
        for (i in 0 until n) {
            val score = o.scores.values[i]
            if (score < threshold) continue
            val index = o.classes.values[i].toInt()
            result.add(detection(index, labels, score, o.boxes.values.copyOfRange(i * 4, i * 4 + 4), transform))
        }
        return result.sortedWith(BY_SCORE)
    }

    /**
     * Raw SSD outputs: box encodings [N, 4] (ty, tx, th, tw) relative to [anchors] (ycenter,
     * xcenter, h, w), class scores [N, C + 1] with background in column 0. Each anchor keeps its
     * best foreground class; those scoring at least [threshold] are decoded with the box-coder
     * [scales] (y, x, h, w) and go through class-aware NMS.
     */
    fun fromRaw(
        encodings: FloatArray, classScores: FloatArray, anchors: List<FloatArray>, scales: FloatArray,
        labels: List<String>, transform: FrameTransform,
        threshold: Float, iouThreshold: Float, maxDetections: Int
    ): List<Detection> {
        val n = anchors.size
        if (encodings.size != n * 4) throw ModelOutputException("box encodings hold ${encodings.size / 4} boxes, the sidecar has $n anchors")
        if (n == 0 || classScores.size % n != 0) throw ModelOutputException("class scores do not split into $n rows")
        val columns = classScores.size / n
        if (columns != labels.size + 1) {
            throw LabelMismatchException(Bundle.LABELS, "${labels.size} labels but the model outputs ${columns - 1} classes (+ background)")
        }
        val kept = ArrayList<Int>()
        val bestClass = ArrayList<Int>()
        val bestScore = ArrayList<Float>()
        for (i in 0 until n) {
            var best = 1
            for (c in 2 until columns) if (classScores[i * columns + c] > classScores[i * columns + best]) best = c
            val score = classScores[i * columns + best]
            if (score >= threshold) {
                kept.add(i)
                bestClass.add(best - 1)
                bestScore.add(score)
            }
        }
        val boxes = kept.map { i -> decode(encodings.copyOfRange(i * 4, i * 4 + 4), anchors[i], scales) }
        val scores = FloatArray(kept.size) { bestScore[it] }
        val classes = IntArray(kept.size) { bestClass[it] }
        val survivors = nms(boxes, scores, classes, iouThreshold, maxDetections)
        return survivors.map { detection(classes[it], labels, scores[it], boxes[it], transform) }.sortedWith(BY_SCORE)
    }

    /** Centre-size decoding of one box: (ty, tx, th, tw) and anchor (yc, xc, h, w) -> normalised (ymin, xmin, ymax, xmax). */
    fun decode(e: FloatArray, a: FloatArray, scales: FloatArray): FloatArray {
        val yc = e[0] / scales[0] * a[2] + a[0]
        val xc = e[1] / scales[1] * a[3] + a[1]
        val halfH = 0.5f * Math.exp((e[2] / scales[2]).toDouble()).toFloat() * a[2]
        val halfW = 0.5f * Math.exp((e[3] / scales[3]).toDouble()).toFloat() * a[3]
        return floatArrayOf(yc - halfH, xc - halfW, yc + halfH, xc + halfW)
    }

    /**
     * Greedy class-aware NMS over normalised boxes: best score first (ties: earlier first), a box
     * is dropped when its IoU with a kept box of the same class is over [iouThreshold]. Only the
     * [MAX_NMS_CANDIDATES] best enter. Returns the kept indices, best first.
     */
    fun nms(boxes: List<FloatArray>, scores: FloatArray, classes: IntArray, iouThreshold: Float, maxDetections: Int): List<Int> {
        val order = scores.indices.sortedWith(Comparator { a, b -> java.lang.Float.compare(scores[b], scores[a]) })
            .take(MAX_NMS_CANDIDATES)
        val kept = ArrayList<Int>()
        for (i in order) {
            if (kept.size >= maxDetections) break
            if (kept.none { classes[it] == classes[i] && iou(boxes[it], boxes[i]) > iouThreshold }) kept.add(i)
        }
        return kept
    }

    /** Intersection over union of two boxes given as (y1, x1, y2, x2) or (x1, y1, x2, y2). */
    fun iou(a: FloatArray, b: FloatArray): Float {
        val inter = Math.max(0f, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0f, Math.min(a[3], b[3]) - Math.max(a[1], b[1]))
        val union = area(a) + area(b) - inter
        return if (union > 0f) inter / union else 0f
    }

    private fun area(b: FloatArray) = Math.max(0f, b[2] - b[0]) * Math.max(0f, b[3] - b[1])

    private val BY_SCORE = Comparator<Detection> { a, b -> java.lang.Float.compare(b.score, a.score) }

    private fun detection(index: Int, labels: List<String>, score: Float, normalised: FloatArray, transform: FrameTransform): Detection {
        val p = transform.toPixels(normalised)
        return Detection(index, if (index in labels.indices) labels[index] else index.toString(), score, p[0], p[1], p[2], p[3])
    }

    private fun shapes(outputs: List<OutputTensor>) = outputs.joinToString(", ") { it.shape.joinToString("x", "[", "]") }
}
