package dev.edgevision.core

import java.io.File

/** Where the bundle's files come from: a folder on the JVM, the app's assets on Android. */
interface BundleSource {
    /** The file's bytes, or null when it does not exist. */
    fun read(name: String): ByteArray?
}

class DirectorySource(private val dir: File) : BundleSource {
    override fun read(name: String): ByteArray? {
        val file = File(dir, name)
        return if (file.isFile) file.readBytes() else null
    }
}

/**
 * An exported model ready to run: the model file, its description and its labels, checked
 * against each other. `tools/android_bundle.py` writes the three files under these names.
 */
class Bundle(val modelBytes: ByteArray, val info: ModelInfo, val labels: List<String>) {
    val modelSizeBytes: Int get() = modelBytes.size

    /**
     * Check the labels against the number of classes the loaded model outputs
     * (classification: the score vector length; ssd_raw: class scores minus background).
     */
    fun requireClassCount(modelClasses: Int) {
        if (modelClasses != labels.size) {
            throw LabelMismatchException(
                LABELS, "${labels.size} labels but the model outputs $modelClasses classes"
            )
        }
    }

    /**
     * Check the loaded model's input tensor against the sidecar: shape [1, height, width, 3]
     * and element type ("float32", "int8" or "uint8") as `input_size` and `input_quantization` say.
     */
    fun requireInput(shape: IntArray, dtype: String) {
        val expected = intArrayOf(1, info.inputHeight, info.inputWidth, 3)
        if (!shape.contentEquals(expected)) {
            throw InvalidModelException(
                MODEL, "input shape ${shape.joinToString(", ", "[", "]")} but $SIDECAR says ${expected.joinToString(", ", "[", "]")}"
            )
        }
        val described = info.inputQuantization?.dtype ?: "float32"
        if (dtype != described) throw InvalidModelException(MODEL, "input type $dtype but $SIDECAR says $described")
    }

    companion object {
        const val MODEL = "model.tflite"
        const val SIDECAR = "model.json"
        const val LABELS = "labels.txt"
        private const val FIX = "run tools/android_bundle.py to copy an exported model, its sidecar and labels into the assets"

        fun load(source: BundleSource): Bundle {
            val model = source.read(MODEL) ?: throw MissingFileException(MODEL, FIX)
            if (model.isEmpty()) throw MissingFileException(MODEL, "the file is empty: $FIX")
            val sidecar = source.read(SIDECAR) ?: throw MissingFileException(SIDECAR, FIX)
            val info = ModelInfo.parse(String(sidecar, Charsets.UTF_8), SIDECAR)
            val labelBytes = source.read(LABELS) ?: throw MissingFileException(LABELS, FIX)
            val labels = Labels.parse(String(labelBytes, Charsets.UTF_8), LABELS)
            return Bundle(model, info, Labels.reconcile(labels, info.labels, LABELS, SIDECAR))
        }
    }
}

/** Label files as TFLite examples ship them: one label a line, or `index label`, optional `background` first. */
object Labels {
    private val INDEXED = Regex("""^\s*(\d+)[\s:]+(.*\S)\s*$""")

    fun parse(text: String, fileName: String): List<String> {
        val lines = text.split('\n').map { it.trimEnd('\r') }.dropLastWhile { it.isBlank() }
        if (lines.isEmpty()) throw LabelMismatchException(fileName, "the file holds no labels")
        val indexed = lines.all { INDEXED.matches(it) }
        if (!indexed) {
            val blank = lines.indexOfFirst { it.isBlank() }
            if (blank >= 0) throw LabelMismatchException(fileName, "line ${blank + 1} is empty")
            return lines.map { it.trim() }
        }
        val byIndex = HashMap<Int, String>()
        for (line in lines) {
            val m = INDEXED.matchEntire(line)!!
            val index = m.groupValues[1].toInt()
            if (byIndex.put(index, m.groupValues[2]) != null) {
                throw LabelMismatchException(fileName, "index $index appears twice")
            }
        }
        return List(byIndex.size) { i ->
            byIndex[i] ?: throw LabelMismatchException(fileName, "indices are not 0..${byIndex.size - 1} (no $i)")
        }
    }

    /**
     * The label file must list the sidecar's classes in the same order; a leading `background`
     * line that the sidecar does not have is dropped.
     */
    fun reconcile(fileLabels: List<String>, sidecarLabels: List<String>, labelsName: String, sidecarName: String): List<String> {
        var labels = fileLabels
        if (labels.size == sidecarLabels.size + 1 && labels[0].equals("background", ignoreCase = true) &&
            !(sidecarLabels.isNotEmpty() && sidecarLabels[0].equals("background", ignoreCase = true))
        ) {
            labels = labels.subList(1, labels.size)
        }
        if (labels.size != sidecarLabels.size) {
            throw LabelMismatchException(
                labelsName, "${fileLabels.size} labels but $sidecarName describes ${sidecarLabels.size} classes"
            )
        }
        for (i in labels.indices) {
            if (labels[i] != sidecarLabels[i]) {
                throw LabelMismatchException(
                    labelsName, "label ${i + 1} is \"${labels[i]}\" but $sidecarName says \"${sidecarLabels[i]}\""
                )
            }
        }
        return labels
    }
}
