package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The Python runtime's answers (tools/android_golden.py writes them into
 * src/test/resources/golden/) must be core's answers: the same input tensor bytes for the same
 * frames, the same top-k for the same model outputs, the same boxes within 1 px.
 */
class GoldenTest {
    private val dir = File(System.getProperty("edgevision.golden") ?: "src/test/resources/golden")
    private val cases: Map<*, *> by lazy {
        val file = File(dir, "cases.json")
        if (!file.isFile) fail("$file is missing: run `python tools/android_golden.py`")
        Json.parse(file.readText()) as Map<*, *>
    }

    private fun bytes(name: Any?) = File(dir, name as String).readBytes()

    private fun floats(name: Any?): FloatArray {
        val b = ByteBuffer.wrap(bytes(name)).order(ByteOrder.LITTLE_ENDIAN)
        return FloatArray(b.remaining() / 4) { b.getFloat() }
    }

    private fun list(key: String) = cases[key] as List<*>

    private fun int(v: Any?) = (v as Long).toInt()

    private fun float(v: Any?) = when (v) {
        is Long -> v.toFloat()
        else -> (v as Double).toFloat()
    }

    @Test
    fun preprocessedTensorsAreByteForByteThePythonRuntimes() {
        val all = list("preprocess")
        assertTrue("no pre-processing cases", all.size >= 10)
        for (c in all) {
            c as Map<*, *>
            val info = ModelInfo.parse(String(bytes(c["sidecar"])), c["sidecar"] as String)
            val frame = c["frame"] as Map<*, *>
            val w = int(frame["width"])
            val h = int(frame["height"])
            val rotation = int(c["rotation"])
            val p = Preprocessor(info)
            val tensor = if (frame["format"] == "rgb") {
                p.fromRgb(Images.rotate(RgbImage(w, h, bytes(frame["file"])), rotation))
            } else {
                val vu = bytes(frame["vu"])
                val yuv = YuvFrame(
                    w, h, bytes(frame["y"]), int(frame["y_row_stride"]),
                    vu.copyOfRange(1, vu.size), vu.copyOfRange(0, vu.size - 1),
                    int(frame["uv_row_stride"]), int(frame["uv_pixel_stride"])
                )
                p.fromYuv(yuv, rotation)
            }
            val expected = bytes(c["tensor"])
            assertEquals("${c["name"]}: tensor size", expected.size, tensor.size)
            val first = expected.indices.firstOrNull { expected[it] != tensor[it] }
            assertTrue("${c["name"]}: first differing byte at $first", first == null)
        }
    }

    @Test
    fun topKIsThePythonRuntimes() {
        for (c in list("classify")) {
            c as Map<*, *>
            val raw = bytes(c["output"])
            val q = c["quantization"] as Map<*, *>?
            val scores = if (q == null) floats(c["output"]) else {
                Tensors.dequantize(raw, TensorQuantization(q["dtype"] as String, (q["scale"] as Number).toDouble(), int(q["zero_point"])))
            }
            val labels = List(int(c["classes"])) { "class$it" }
            val top = Classification.topK(scores, labels, int(c["k"]), float(c["threshold"]), logits = c["layout"] == "logits")
            val expected = c["expected"] as List<*>
            assertEquals("${c["name"]}: indices", expected.map { int((it as Map<*, *>)["index"]) }, top.map { it.index })
            assertEquals("${c["name"]}: labels", expected.map { (it as Map<*, *>)["label"] }, top.map { it.label })
            for ((e, t) in expected.zip(top)) {
                val score = float((e as Map<*, *>)["score"])
                assertEquals("${c["name"]}: score of ${t.index}", score, t.score, Math.abs(score) * 1e-6f)
            }
        }
    }

    private fun checkDetections(name: Any?, expected: List<*>, found: List<Detection>) {
        assertEquals("$name: labels", expected.map { (it as Map<*, *>)["label"] }, found.map { it.label })
        for ((e, d) in expected.zip(found)) {
            e as Map<*, *>
            assertEquals("$name: index", int(e["index"]), d.index)
            assertEquals("$name: score", float(e["score"]), d.score, 1e-6f)
            val box = (e["box"] as List<*>).map { float(it) }.toFloatArray()
            assertArrayEquals("$name: box of ${d.label}", box, floatArrayOf(d.xmin, d.ymin, d.xmax, d.ymax), 1f)
        }
    }

    private fun transform(c: Map<*, *>): FrameTransform {
        val frame = c["frame"] as List<*>
        val input = c["input"] as List<*>
        return FrameTransform(int(input[0]), int(input[1]), int(frame[0]), int(frame[1]))
    }

    @Test
    fun postprocessedSsdOutputsInBothOrdersGiveThePythonRuntimesBoxes() {
        val all = list("detect_postprocessed")
        assertTrue(all.size >= 4)
        for (c in all) {
            c as Map<*, *>
            val outputs = (c["outputs"] as List<*>).map {
                it as Map<*, *>
                OutputTensor(it["name"] as String, (it["shape"] as List<*>).map { d -> int(d) }.toIntArray(), floats(it["file"]))
            }
            val labels = (c["labels"] as List<*>).map { it as String }
            val found = Detections.fromPostprocessed(outputs, labels, transform(c), float(c["threshold"]))
            checkDetections(c["name"], c["expected"] as List<*>, found)
        }
    }

    @Test
    fun rawSsdOutputsDecodeAndSuppressAsThePythonRuntimeDoes() {
        for (c in list("detect_raw")) {
            c as Map<*, *>
            val a = floats(c["anchors"])
            val anchors = List(a.size / 4) { a.copyOfRange(it * 4, it * 4 + 4) }
            val scales = (c["box_scales"] as List<*>).map { float(it) }.toFloatArray()
            val labels = (c["labels"] as List<*>).map { it as String }
            val found = Detections.fromRaw(
                floats(c["encodings"]), floats(c["scores"]), anchors, scales, labels, transform(c),
                float(c["threshold"]), float(c["iou_threshold"]), int(c["max_detections"])
            )
            val expected = c["expected"] as List<*>
            assertTrue("${c["name"]}: the case has no detections to compare", expected.isNotEmpty())
            checkDetections(c["name"], expected, found)
        }
    }

    @Test
    fun latencyPercentilesAndRollingFpsAreThePythonTrackers() {
        val c = cases["metrics"] as Map<*, *>
        val latencies = (c["latencies_ms"] as List<*>).map { (it as Number).toDouble() }
        val m = MetricsTracker(window = latencies.size)
        for (v in latencies) m.addLatency("inference", v)
        assertEquals((c["p50"] as Double), m.percentile("inference", 50.0)!!, 1e-9)
        assertEquals((c["p90"] as Double), m.percentile("inference", 90.0)!!, 1e-9)
        val frames = MetricsTracker(window = int(c["window"]))
        for (t in c["frame_times_ns"] as List<*>) frames.frameDone(t as Long)
        assertEquals((c["fps_rolling"] as Double), frames.fps(), 1e-9)
    }
}
