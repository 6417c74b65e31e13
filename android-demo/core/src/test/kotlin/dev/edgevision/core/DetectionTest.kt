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
    private val frame = FrameTransform(300, 300, 200, 100)

    private fun box(d: Detection) = floatArrayOf(d.xmin, d.ymin, d.xmax, d.ymax)

    private fun check(found: List<Detection>) {
        assertEquals(listOf("dog", "bird"), found.map { it.label })
        assertArrayEquals(floatArrayOf(40f, 10f, 120f, 50f), box(found[0]), 1e-4f)
        assertArrayEquals(floatArrayOf(100f, 0f, 200f, 30f), box(found[1]), 1e-4f) // clipped to the frame
    }

    @Test
    fun tf1OrderBoxesClassesScoresCount() {
        check(Detections.fromPostprocessed(listOf(boxes, classes, scores, count), labels, frame, 0.5f))
    }

    @Test
    fun tf2OrderScoresBoxesCountClasses() {
        check(Detections.fromPostprocessed(listOf(scores, boxes, count, classes), labels, frame, 0.5f))
    }

    @Test
    fun signatureNamesWinOverOrder() {
        val named = listOf(
            boxes, OutputTensor("detection_scores", intArrayOf(1, 3), scores.values),
            OutputTensor("detection_classes", intArrayOf(1, 3), classes.values), count
        )
        check(Detections.fromPostprocessed(named, labels, frame, 0.5f))
    }

    @Test
    fun countLimitsTheDetectionsAndUnknownClassesKeepTheirIndex() {
        val one = OutputTensor("", intArrayOf(1), floatArrayOf(1f))
        assertEquals(listOf("dog"), Detections.fromPostprocessed(listOf(boxes, classes, scores, one), labels, frame, 0.1f).map { it.label })
        val unknown = OutputTensor("", intArrayOf(1, 3), floatArrayOf(7f, 0f, 2f))
        assertEquals("7", Detections.fromPostprocessed(listOf(boxes, unknown, scores, count), labels, frame, 0.5f)[0].label)
    }

    @Test
    fun wrongOutputsAreATypedError() {
        try {
            Detections.fromPostprocessed(listOf(boxes, classes, count), labels, frame, 0.5f)
            fail("accepted three outputs")
        } catch (e: ModelOutputException) {
            assert(e.message!!.contains("expected 4 SSD outputs"))
        }
    }

    @Test
    fun centreSizeDecoding() {
        val anchor = floatArrayOf(0.5f, 0.5f, 0.2f, 0.4f)
        // Zero encodings give the anchor itself; ty = 10 moves the centre by one anchor height.
        assertArrayEquals(floatArrayOf(0.4f, 0.3f, 0.6f, 0.7f), Detections.decode(FloatArray(4), anchor, ModelInfo.DEFAULT_BOX_SCALES), 1e-6f)
        val moved = Detections.decode(floatArrayOf(10f, 0f, 5f * Math.log(2.0).toFloat(), 0f), anchor, ModelInfo.DEFAULT_BOX_SCALES)
        assertArrayEquals(floatArrayOf(0.5f, 0.3f, 0.9f, 0.7f), moved, 1e-6f)
    }

    @Test
    fun rawOutputsKeepTheBestClassPerAnchorThenSuppressPerClass() {
        val anchors = listOf(
            floatArrayOf(0.5f, 0.5f, 0.2f, 0.2f), floatArrayOf(0.51f, 0.5f, 0.2f, 0.2f),
            floatArrayOf(0.52f, 0.5f, 0.2f, 0.2f), floatArrayOf(0.2f, 0.2f, 0.1f, 0.1f)
        )
        val enc = FloatArray(16)
        // background, cat, dog, bird per anchor
        val cls = floatArrayOf(
            0.1f, 0.9f, 0.0f, 0.0f, // cat 0.9
            0.1f, 0.8f, 0.7f, 0.0f, // cat 0.8 (its dog 0.7 is not its best class): suppressed by anchor 0
            0.1f, 0.0f, 0.6f, 0.0f, // dog 0.6 overlaps the cats, other class: kept
            0.5f, 0.0f, 0.0f, 0.4f  // bird 0.4
        )
        val whole = FrameTransform(100, 100, 100, 100)
        val found = Detections.fromRaw(enc, cls, anchors, ModelInfo.DEFAULT_BOX_SCALES, labels, whole, 0.3f, 0.5f, 10)
        assertEquals(listOf("cat" to 0.9f, "dog" to 0.6f, "bird" to 0.4f), found.map { it.label to it.score })
        assertArrayEquals(floatArrayOf(40f, 40f, 60f, 60f), box(found[0]), 1e-4f)
        assertEquals(1, Detections.fromRaw(enc, cls, anchors, ModelInfo.DEFAULT_BOX_SCALES, labels, whole, 0.3f, 0.5f, 1).size)
        try {
            Detections.fromRaw(enc, cls, anchors, ModelInfo.DEFAULT_BOX_SCALES, listOf("cat"), whole, 0.3f, 0.5f, 1)
            fail("accepted 1 label for 3 classes")
        } catch (e: LabelMismatchException) {
            assert(e.message!!.contains("1 labels but the model outputs 3 classes"))
        }
    }

    @Test
    fun iou() {
        val a = floatArrayOf(0f, 0f, 10f, 10f)
        assertEquals(50f / 150f, Detections.iou(a, floatArrayOf(5f, 0f, 15f, 10f)), 1e-6f)
        assertEquals(0f, Detections.iou(a, floatArrayOf(20f, 20f, 30f, 30f)), 0f)
    }
}
