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
 * Detection post-processing: the standard four-output SSD layout (TF1 order boxes, classes,
 * scores, count; TF2 order scores, boxes, count, classes), and for raw-output models the
 * centre-size box decoding with anchors followed by non-maximum suppression.
 */
object Detections {
    /** The four SSD post-processing outputs, found by shape and, where shapes agree, by name or order. */
    class SsdOutputs(val boxes: OutputTensor, val classes: OutputTensor, val scores: OutputTensor, val count: OutputTensor)

    fun identify(outputs: List<OutputTensor>): SsdOutputs {
        if (outputs.size != 4) throw ModelOutputException("expected 4 SSD outputs (boxes, classes, scores, count), got ${outputs.size}")
        val boxIndex = outputs.indexOfFirst { it.shape.size == 3 && it.shape[2] == 4 }
        if (boxIndex < 0) throw ModelOutputException("no [1, N, 4] box output among ${shapes(outputs)}")
        val countIndex = outputs.indexOfFirst { it.size == 1 }
        if (countIndex < 0) throw ModelOutputException("no count output among ${shapes(outputs)}")
        val n = outputs[boxIndex].shape[1]
        val pair = outputs.indices.filter { it != boxIndex && it != countIndex }
        if (pair.size != 2 || pair.any { outputs[it].size != n }) {
            throw ModelOutputException("classes and scores are not two [1, $n] outputs: ${shapes(outputs)}")
        }
        val named = pair.map { outputs[it].name }
        val classFirst = when {
            named[0].contains("class", ignoreCase = true) || named[1].contains("score", ignoreCase = true) -> true
            named[0].contains("score", ignoreCase = true) || named[1].contains("class", ignoreCase = true) -> false
            else -> boxIndex == 0 // TF1 order: boxes, classes, scores, count; TF2: scores, boxes, count, classes
        }
        val classes = outputs[if (classFirst) pair[0] else pair[1]]
        val scores = outputs[if (classFirst) pair[1] else pair[0]]
        return SsdOutputs(outputs[boxIndex], classes, scores, outputs[countIndex])
    }

    /** Standard post-processed SSD outputs to detections (boxes are normalised ymin, xmin, ymax, xmax). */
    fun fromPostprocessed(
        outputs: List<OutputTensor>, labels: List<String>, imageWidth: Int, imageHeight: Int, threshold: Float
    ): List<Detection> {
        val o = identify(outputs)
        val n = Math.min(Math.max(o.count.values[0].toInt(), 0), o.scores.size)
        val result = ArrayList<Detection>()
        for (i in 0 until n) {
            val score = o.scores.values[i]
            if (score < threshold) continue
            val index = Math.round(o.classes.values[i])
            val b = o.boxes.values
            result.add(toPixels(index, label(labels, index), score, b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3], imageWidth, imageHeight))
        }
        return result.sortedWith(BY_SCORE)
    }

    /**
     * Raw SSD outputs: box encodings [N, 4] (ty, tx, th, tw) relative to [anchors] (ycenter,
     * xcenter, h, w), class scores [N, C + 1] with background at index 0; decoded with the
     * box-coder [scales] (y, x, h, w), then per-class NMS.
     */
    fun fromRaw(
        encodings: FloatArray, classScores: FloatArray, anchors: List<FloatArray>, scales: FloatArray,
        labels: List<String>, imageWidth: Int, imageHeight: Int,
        threshold: Float, iouThreshold: Float, maxDetections: Int
    ): List<Detection> {
        val n = anchors.size
        if (encodings.size != n * 4) throw ModelOutputException("box encodings hold ${encodings.size / 4} boxes, the sidecar has $n anchors")
        if (n == 0 || classScores.size % n != 0) throw ModelOutputException("class scores do not split into $n rows")
        val classesPlusBackground = classScores.size / n
        if (classesPlusBackground != labels.size + 1) {
            throw LabelMismatchException(Bundle.LABELS, "${labels.size} labels but the model outputs ${classesPlusBackground - 1} classes (+ background)")
        }
        val boxes = decode(encodings, anchors, scales)
        val candidates = ArrayList<Detection>()
        for (i in 0 until n) {
            for (c in 1 until classesPlusBackground) {
                val score = classScores[i * classesPlusBackground + c]
                if (score < threshold) continue
                val b = boxes[i]
                candidates.add(toPixels(c - 1, labels[c - 1], score, b[0], b[1], b[2], b[3], imageWidth, imageHeight))
            }
        }
        return nms(candidates, iouThreshold, maxDetections)
    }

    /** Centre-size decoding: normalised (ymin, xmin, ymax, xmax) per anchor. */
    fun decode(encodings: FloatArray, anchors: List<FloatArray>, scales: FloatArray): List<FloatArray> =
        anchors.indices.map { i ->
            val a = anchors[i]
            val yc = encodings[i * 4] / scales[0] * a[2] + a[0]
            val xc = encodings[i * 4 + 1] / scales[1] * a[3] + a[1]
            val h = Math.exp((encodings[i * 4 + 2] / scales[2]).toDouble()).toFloat() * a[2]
            val w = Math.exp((encodings[i * 4 + 3] / scales[3]).toDouble()).toFloat() * a[3]
            floatArrayOf(yc - h / 2f, xc - w / 2f, yc + h / 2f, xc + w / 2f)
        }

    /** Greedy per-class non-maximum suppression: best first, drop boxes overlapping a kept one of the same class. */
    fun nms(candidates: List<Detection>, iouThreshold: Float, maxDetections: Int): List<Detection> {
        val kept = ArrayList<Detection>()
        for (d in candidates.sortedWith(BY_SCORE)) {
            if (kept.size == maxDetections) break
            if (kept.none { it.index == d.index && iou(it, d) > iouThreshold }) kept.add(d)
        }
        return kept
    }

    fun iou(a: Detection, b: Detection): Float {
        val iw = Math.min(a.xmax, b.xmax) - Math.max(a.xmin, b.xmin)
        val ih = Math.min(a.ymax, b.ymax) - Math.max(a.ymin, b.ymin)
        if (iw <= 0f || ih <= 0f) return 0f
        val inter = iw * ih
        val union = (a.xmax - a.xmin) * (a.ymax - a.ymin) + (b.xmax - b.xmin) * (b.ymax - b.ymin) - inter
        return if (union <= 0f) 0f else inter / union
    }

    private val BY_SCORE = Comparator<Detection> { a, b -> java.lang.Float.compare(b.score, a.score) }

    private fun toPixels(index: Int, label: String, score: Float, ymin: Float, xmin: Float, ymax: Float, xmax: Float, w: Int, h: Int) =
        Detection(
            index, label, score,
            clamp(xmin, 1f) * w, clamp(ymin, 1f) * h, clamp(xmax, 1f) * w, clamp(ymax, 1f) * h
        )

    private fun clamp(v: Float, max: Float) = if (v < 0f) 0f else if (v > max) max else v

    private fun label(labels: List<String>, index: Int) = if (index in labels.indices) labels[index] else "class $index"

    private fun shapes(outputs: List<OutputTensor>) = outputs.joinToString(", ") { it.shape.joinToString("x", "[", "]") }
}
