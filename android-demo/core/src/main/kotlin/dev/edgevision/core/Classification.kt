package dev.edgevision.core

/** One class of a classification result. */
data class ClassScore(val index: Int, val label: String, val score: Float)

/** Quantized tensor values to real numbers: `(q - zero_point) * scale` in float32, as the Python runtime computes it. */
object Tensors {
    fun dequantize(raw: ByteArray, q: TensorQuantization): FloatArray {
        val signed = q.dtype == "int8"
        return FloatArray(raw.size) { i ->
            val v = if (signed) raw[i].toInt() else raw[i].toInt() and 0xFF
            (v - q.zeroPoint).toFloat() * q.scale.toFloat()
        }
    }
}

object Classification {
    /**
     * The [k] best classes, best first (equal scores: lower index first), dropping scores under
     * [threshold]. Logits are turned into probabilities with a softmax first.
     */
    fun topK(scores: FloatArray, labels: List<String>, k: Int, threshold: Float = 0f, logits: Boolean = false): List<ClassScore> {
        require(k > 0) { "k must be positive" }
        if (scores.size != labels.size) {
            throw LabelMismatchException(Bundle.LABELS, "${labels.size} labels but the model outputs ${scores.size} classes")
        }
        val probabilities = if (logits) softmax(scores) else scores
        val order = probabilities.indices.sortedWith(Comparator { a, b ->
            val c = java.lang.Float.compare(probabilities[b], probabilities[a])
            if (c != 0) c else Integer.compare(a, b)
        })
        val result = ArrayList<ClassScore>()
        for (i in order) {
            if (result.size == k || probabilities[i] < threshold) break
            result.add(ClassScore(i, labels[i], probabilities[i]))
        }
        return result
    }

    fun softmax(logits: FloatArray): FloatArray {
        var max = Float.NEGATIVE_INFINITY
        for (v in logits) if (v > max) max = v
        val e = FloatArray(logits.size) { Math.exp((logits[it] - max).toDouble()).toFloat() }
        var sum = 0f
        for (v in e) sum += v
        return FloatArray(e.size) { e[it] / sum }
    }
}
