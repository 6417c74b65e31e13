package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test

/** An in-memory bundle source: file name -> text. */
class MapSource(private val files: Map<String, ByteArray>) : BundleSource {
    override fun read(name: String): ByteArray? = files[name]
}

class BundleTest {
    private val sidecar = """{
  "task": "classify", "input_size": [96, 128], "labels": ["circle", "square", "triangle"],
  "mean": [127.5, 127.5, 127.5], "std": [127.5, 127.5, 127.5], "color_order": "RGB",
  "output_layout": "probabilities", "architecture": "mobilenet_v2", "alpha": 0.35,
  "format": "tflite", "quantization": "int8",
  "input_quantization": {"dtype": "int8", "scale": 0.0078125, "zero_point": 0},
  "output_quantization": {"dtype": "int8", "scale": 0.00390625, "zero_point": -128},
  "anchors": null, "box_scales": null, "source_model": "model.keras", "extra": {},
  "edgevision_version": "0.1.0", "format_version": 1
}"""

    private fun source(json: String? = sidecar, labels: String? = "circle\nsquare\ntriangle\n", model: ByteArray? = byteArrayOf(1, 2, 3)): MapSource {
        val files = HashMap<String, ByteArray>()
        if (json != null) files[Bundle.SIDECAR] = json.toByteArray()
        if (labels != null) files[Bundle.LABELS] = labels.toByteArray()
        if (model != null) files[Bundle.MODEL] = model
        return MapSource(files)
    }

    private inline fun <reified T : BundleException> failsWith(vararg words: String, block: () -> Unit) {
        try {
            block()
            fail("expected ${T::class.java.simpleName}")
        } catch (e: BundleException) {
            assertTrue("wrong type ${e.javaClass.simpleName}: ${e.message}", e is T)
            for (w in words) assertTrue("'${e.message}' does not mention '$w'", e.message!!.contains(w))
        }
    }

    @Test
    fun readsAWellFormedBundle() {
        val b = Bundle.load(source())
        assertEquals(listOf("circle", "square", "triangle"), b.labels)
        assertEquals(96, b.info.inputHeight)
        assertEquals(128, b.info.inputWidth)
        assertEquals(TensorQuantization("int8", 0.0078125, 0), b.info.inputQuantization)
        assertEquals(-128, b.info.outputQuantization!!.zeroPoint)
        assertEquals(3, b.modelSizeBytes)
        assertArrayEquals(floatArrayOf(10f, 10f, 5f, 5f), b.info.boxScales, 0f)
        b.requireClassCount(3)
    }

    @Test
    fun missingFilesNameTheFileAndTheFix() {
        failsWith<MissingFileException>("model.tflite is missing", "android_bundle.py") { Bundle.load(source(model = null)) }
        failsWith<MissingFileException>("model.tflite", "empty") { Bundle.load(source(model = ByteArray(0))) }
        failsWith<MissingFileException>("model.json is missing") { Bundle.load(source(json = null)) }
        failsWith<MissingFileException>("labels.txt is missing") { Bundle.load(source(labels = null)) }
    }

    @Test
    fun unknownFormatVersionIsItsOwnError() {
        failsWith<UnsupportedFormatVersionException>("model.json", "format_version 2", "reads 1") {
            Bundle.load(source(json = sidecar.replace("\"format_version\": 1", "\"format_version\": 2")))
        }
        failsWith<UnsupportedFormatVersionException>("format_version null") {
            Bundle.load(source(json = sidecar.replace(", \"format_version\": 1", "")))
        }
        failsWith<UnsupportedFormatVersionException>("\"1\"") {
            Bundle.load(source(json = sidecar.replace("\"format_version\": 1", "\"format_version\": \"1\"")))
        }
    }

    @Test
    fun brokenSidecarsNameWhatIsWrong() {
        failsWith<InvalidSidecarException>("missing field(s): labels") {
            Bundle.load(source(json = sidecar.replace("\"labels\": [\"circle\", \"square\", \"triangle\"],", "")))
        }
        failsWith<InvalidSidecarException>("missing field(s): task, input_size") {
            Bundle.load(source(json = sidecar.replace("\"task\": \"classify\", \"input_size\": [96, 128],", "")))
        }
        failsWith<InvalidSidecarException>("not valid JSON") { Bundle.load(source(json = "{\"task\": ")) }
        failsWith<InvalidSidecarException>("not a JSON object") { Bundle.load(source(json = "[1]")) }
        failsWith<InvalidSidecarException>("task \"segment\"") { Bundle.load(source(json = sidecar.replace("\"classify\"", "\"segment\""))) }
        failsWith<InvalidSidecarException>("input_size") { Bundle.load(source(json = sidecar.replace("[96, 128]", "[96]"))) }
        failsWith<InvalidSidecarException>("output_layout \"yolo\"") { Bundle.load(source(json = sidecar.replace("\"probabilities\"", "\"yolo\""))) }
        failsWith<InvalidSidecarException>("std must not be 0") { Bundle.load(source(json = sidecar.replace("\"std\": [127.5, 127.5, 127.5]", "\"std\": 0"))) }
        failsWith<InvalidSidecarException>("input_quantization.dtype \"int16\"") {
            Bundle.load(source(json = sidecar.replace("{\"dtype\": \"int8\", \"scale\": 0.0078125", "{\"dtype\": \"int16\", \"scale\": 0.0078125")))
        }
        failsWith<InvalidSidecarException>("ssd_raw needs anchors") {
            Bundle.load(source(json = sidecar.replace("\"probabilities\"", "\"ssd_raw\"").replace("\"classify\"", "\"detect\"")))
        }
    }

    @Test
    fun meanAndStdAcceptOneNumberAsMetadataPyDoes() {
        val info = ModelInfo.parse(sidecar.replace("\"mean\": [127.5, 127.5, 127.5]", "\"mean\": 0"), "m.json")
        assertArrayEquals(doubleArrayOf(0.0, 0.0, 0.0), info.mean, 0.0)
        assertArrayEquals(doubleArrayOf(127.5, 127.5, 127.5), info.std, 0.0)
    }

    @Test
    fun labelsThatDoNotMatchTheModelAreRefused() {
        failsWith<LabelMismatchException>("labels.txt", "2 labels", "3 classes") { Bundle.load(source(labels = "circle\nsquare\n")) }
        failsWith<LabelMismatchException>("label 2 is \"star\"") { Bundle.load(source(labels = "circle\nstar\ntriangle\n")) }
        failsWith<LabelMismatchException>("no labels") { Bundle.load(source(labels = "\n\n")) }
        failsWith<LabelMismatchException>("line 2 is empty") { Bundle.load(source(labels = "circle\n\ntriangle\n")) }
        failsWith<LabelMismatchException>("3 labels but the model outputs 1001 classes") { Bundle.load(source()).requireClassCount(1001) }
    }

    @Test
    fun labelFilesInTheUsualForms() {
        assertEquals(listOf("circle", "square", "triangle"), Bundle.load(source(labels = "background\r\ncircle\r\nsquare\r\ntriangle\r\n")).labels)
        assertEquals(listOf("circle", "square", "triangle"), Bundle.load(source(labels = "2 triangle\n0 circle\n1 square\n")).labels)
        assertEquals(listOf("a b", "c"), Labels.parse("0: a b\n1 c", "l.txt"))
        failsWith<LabelMismatchException>("no 1") { Labels.parse("0 a\n2 c\n", "l.txt") }
    }
}
