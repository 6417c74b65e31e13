package dev.edgevision.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.fail
import org.junit.Test

class ResultsTest {
    private fun info(layout: String, task: String, extra: String = "") = ModelInfo.parse(
        """{"task": "$task", "input_size": [4, 4], "labels": ["a", "b"], "output_layout": "$layout", "format_version": 1 $extra}""",
        "m.json"
    )

    @Test
    fun classifierOutputsGiveTopK() {
        val p = Postprocessor(info("probabilities", "classify"), listOf("a", "b"))
        val r = p.run(listOf(OutputTensor("", intArrayOf(1, 2), floatArrayOf(0.25f, 0.75f))), 10, 10)
        assertEquals(listOf("b", "a"), r.topK.map { it.label })
        assertEquals(2, p.classCount(listOf(intArrayOf(1, 2))))
    }

    @Test
    fun rawDetectorOutputsInEitherOrder() {
        val i = info("ssd_raw", "detect", """, "anchors": [[0.5, 0.5, 0.2, 0.2]]""")
        val p = Postprocessor(i, listOf("a", "b"))
        val enc = OutputTensor("", intArrayOf(1, 1, 4), FloatArray(4))
        val cls = OutputTensor("", intArrayOf(1, 1, 3), floatArrayOf(0f, 0.1f, 0.9f))
        assertEquals(listOf("b"), p.run(listOf(enc, cls), 10, 10).detections.map { it.label })
        assertEquals(listOf("b"), p.run(listOf(cls, enc), 10, 10).detections.map { it.label })
        assertEquals(2, p.classCount(listOf(intArrayOf(1, 1, 4), intArrayOf(1, 1, 3))))
        assertNull(Postprocessor(info("ssd_postprocessed", "detect"), listOf("a", "b")).classCount(listOf(intArrayOf(1, 10, 4))))
    }

    @Test
    fun modelInputMustBeWhatTheSidecarSays() {
        val b = Bundle(byteArrayOf(1), info("probabilities", "classify", """, "input_quantization": {"dtype": "uint8", "scale": 0.0078125, "zero_point": 128}"""), listOf("a", "b"))
        b.requireInput(intArrayOf(1, 4, 4, 3), "uint8")
        for ((shape, dtype, words) in listOf(
            Triple(intArrayOf(1, 224, 224, 3), "uint8", "input shape [1, 224, 224, 3] but model.json says [1, 4, 4, 3]"),
            Triple(intArrayOf(1, 4, 4, 3), "float32", "input type float32 but model.json says uint8")
        )) {
            try {
                b.requireInput(shape, dtype)
                fail("accepted $dtype ${shape.toList()}")
            } catch (e: InvalidModelException) {
                assert(e.message!!.startsWith("model.tflite: $words")) { e.message!! }
            }
        }
    }
}
