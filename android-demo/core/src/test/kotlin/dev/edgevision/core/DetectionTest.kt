package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.fail
import org.junit.Test

class DetectionTest {
    private val labels = listOf("cat", "dog", "bird")
    private val boxes = OutputTensor("boxes", intArrayOf(1, 3, 4), floatArrayOf(0.1f, 0.2f, 0.5f, 0.6f, 0f, 0f, 1f, 1f, -0.1f, 0.5f, 0.3f, 1.2f))
    private val classes = OutputTensor("", intArrayOf(1, 3), floatArrayOf(1f, 0f, 2f))
    private val scores = OutputTensor("", intArrayOf(1, 3), floatArrayOf(0.9f, 0.2f, 0.6f))
    private val count = OutputTensor("", intArrayOf(1), floatArrayOf(3f))

    private fun check(found: List<Detection>) {
        assertEquals(listOf("dog", "bird"), found.map { it.label })
        val d = found[0]
        assertArrayEquals(floatArrayOf(40f, 10f, 120f, 50f), floatArrayOf(d.xmin, d.ymin, d.xmax, d.ymax), 1e-4f)
        val clipped = found[1]
        assertArrayEquals(floatArrayOf(100f, 0f, 200f, 30f), floatArrayOf(clipped.xmin, clipped.ymin, clipped.xmax, clipped.ymax), 1e-4f)
    }

    @Test
    fun tf1OrderBoxesClassesScoresCount() {
        check(Detections.fromPostprocessed(listOf(boxes, classes, scores, count), labels, 200, 100, 0.5f))
    }

    @Test
    fun tf2OrderScoresBoxesCountClasses() {
        check(Detections.fromPostprocessed(listOf(scores, boxes, count, classes), labels, 200, 100, 0.5f))
    }

    @Test
    fun signatureNamesWinOverOrder() {
        val named = listOf(
            boxes, OutputTensor("detection_scores", intArrayOf(1, 3), scores.values),
            OutputTensor("detection_classes", intArrayOf(1, 3), classes.values), count
        )
        check(Detections.fromPostprocessed(named, labels, 200, 100, 0.5f))
    }

    @Test
    fun countLimitsTheDetections() {
        val one = OutputTensor("", intArrayOf(1), floatArrayOf(1f))
        assertEquals(listOf("dog"), Detections.fromPostprocessed(listOf(boxes, classes, scores, one), labels, 200, 100, 0.1f).map { it.label })
    }

    @Test
    fun wrongOutputsAreATypedError() {
        try {
            Detections.fromPostprocessed(listOf(boxes, classes, count), labels, 10, 10, 0.5f)
            fail("accepted three outputs")
        } catch (e: ModelOutputException) {
            assert(e.message!!.contains("expected 4 SSD outputs"))
        }
    }

    @Test
    fun centreSizeDecoding() {
        val anchors = listOf(floatArrayOf(0.5f, 0.5f, 0.2f, 0.4f))
        // Zero encodings give the anchor itself; ty = 10 moves the centre by one anchor height.
        val same = Detections.decode(floatArrayOf(0f, 0f, 0f, 0f), anchors, ModelInfo.DEFAULT_BOX_SCALES)[0]
        assertArrayEquals(floatArrayOf(0.4f, 0.3f, 0.6f, 0.7f), same, 1e-6f)
        val moved = Detections.decode(floatArrayOf(10f, 0f, 5f * Math.log(2.0).toFloat(), 0f), anchors, ModelInfo.DEFAULT_BOX_SCALES)[0]
        assertArrayEquals(floatArrayOf(0.5f, 0.3f, 0.9f, 0.7f), moved, 1e-6f)
    }

    @Test
    fun rawOutputsAreDecodedAndSuppressedPerClass() {
        val anchors = listOf(
            floatArrayOf(0.5f, 0.5f, 0.2f, 0.2f), floatArrayOf(0.51f, 0.5f, 0.2f, 0.2f), floatArrayOf(0.2f, 0.2f, 0.1f, 0.1f)
        )
        val enc = FloatArray(12)
        // background, cat, dog, bird per anchor
        val cls = floatArrayOf(0.1f, 0.9f, 0.0f, 0.0f, 0.1f, 0.8f, 0.7f, 0.0f, 0.5f, 0.0f, 0.0f, 0.4f)
        val found = Detections.fromRaw(enc, cls, anchors, ModelInfo.DEFAULT_BOX_SCALES, labels, 100, 100, 0.3f, 0.5f, 10)
        // Anchor 1's cat overlaps anchor 0's cat (suppressed); its dog is another class (kept).
        assertEquals(listOf("cat" to 0.9f, "dog" to 0.7f, "bird" to 0.4f), found.map { it.label to it.score })
        assertArrayEquals(floatArrayOf(40f, 40f, 60f, 60f), floatArrayOf(found[0].xmin, found[0].ymin, found[0].xmax, found[0].ymax), 1e-4f)
        assertEquals(1, Detections.fromRaw(enc, cls, anchors, ModelInfo.DEFAULT_BOX_SCALES, labels, 100, 100, 0.3f, 0.5f, 1).size)
    }

    @Test
    fun iou() {
        val a = Detection(0, "a", 1f, 0f, 0f, 10f, 10f)
        val b = Detection(0, "a", 1f, 5f, 0f, 15f, 10f)
        assertEquals(50f / 150f, Detections.iou(a, b), 1e-6f)
        assertEquals(0f, Detections.iou(a, Detection(0, "a", 1f, 20f, 20f, 30f, 30f)), 0f)
    }
}
