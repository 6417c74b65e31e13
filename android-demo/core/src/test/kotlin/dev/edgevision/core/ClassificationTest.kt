package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Test

class ClassificationTest {
    private val labels = listOf("a", "b", "c", "d")

    @Test
    fun topKBestFirstTiesByIndex() {
        val top = Classification.topK(floatArrayOf(0.1f, 0.4f, 0.1f, 0.4f), labels, 3)
        assertEquals(listOf(ClassScore(1, "b", 0.4f), ClassScore(3, "d", 0.4f), ClassScore(0, "a", 0.1f)), top)
        assertEquals(listOf(1, 3), Classification.topK(floatArrayOf(0.1f, 0.4f, 0.1f, 0.4f), labels, 3, threshold = 0.2f).map { it.index })
    }

    @Test
    fun dequantizesUint8AndInt8() {
        assertArrayEquals(floatArrayOf(0f, 0.5f, 127.5f), Tensors.dequantize(bytes(0, 1, 255), TensorQuantization("uint8", 0.5, 0)), 0f)
        assertArrayEquals(floatArrayOf(0f, 1f / 256f, 255f / 256f), Tensors.dequantize(bytes(-128, -127, 127), TensorQuantization("int8", 1.0 / 256, -128)), 0f)
    }

    @Test
    fun logitsGoThroughSoftmax() {
        val top = Classification.topK(floatArrayOf(0f, Math.log(3.0).toFloat(), 0f, 0f), labels, 1, logits = true)
        assertEquals(1, top[0].index)
        assertEquals(0.5f, top[0].score, 1e-6f)
    }

    @Test
    fun labelCountMustMatchTheScores() {
        try {
            Classification.topK(FloatArray(1001), labels, 5)
            fail("accepted 1001 scores for 4 labels")
        } catch (e: LabelMismatchException) {
            assert(e.message!!.contains("4 labels but the model outputs 1001 classes"))
        }
    }
}
