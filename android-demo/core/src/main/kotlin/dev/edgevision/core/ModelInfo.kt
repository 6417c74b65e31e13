package dev.edgevision.core

/** Quantization of one tensor: `real = scale * (q - zeroPoint)`. */
data class TensorQuantization(val dtype: String, val scale: Double, val zeroPoint: Int) {
    init {
        require(dtype == "int8" || dtype == "uint8") { "dtype $dtype is not int8 or uint8" }
    }

    val min: Int get() = if (dtype == "int8") -128 else 0
    val max: Int get() = if (dtype == "int8") 127 else 255
}

/**
 * The model description (`<model>.json`), as written by `edgevision/metadata.py` (the contract).
 *
 * Model input is `(pixel - mean) / std` per channel, pixels in 0..255 in [colorOrder], resized to
 * [inputHeight] x [inputWidth]; quantized inputs are then `round(x / scale + zeroPoint)`.
 */
class ModelInfo(
    val task: String,
    val inputHeight: Int,
    val inputWidth: Int,
    val labels: List<String>,
    val mean: DoubleArray,
    val std: DoubleArray,
    val colorOrder: String,
    val outputLayout: String,
    val quantization: String,
    val inputQuantization: TensorQuantization?,
    val outputQuantization: TensorQuantization?,
    /** Detection only: anchors as (ycenter, xcenter, h, w), normalised. */
    val anchors: List<FloatArray>?,
    /** Detection only: box-coder scales (y, x, h, w). */
    val boxScales: FloatArray,
    val architecture: String?,
    val edgevisionVersion: String?
) {
    val isDetector: Boolean get() = task == "detect"

    companion object {
        const val FORMAT_VERSION = 1
        val TASKS = listOf("classify", "detect")
        val OUTPUT_LAYOUTS = listOf("probabilities", "logits", "ssd_postprocessed", "ssd_raw")
        val DEFAULT_BOX_SCALES = floatArrayOf(10f, 10f, 5f, 5f)

        /** Parse and validate a sidecar; every problem is a typed [BundleException] naming [fileName]. */
        fun parse(text: String, fileName: String): ModelInfo {
            val root = try {
                Json.parse(text)
            } catch (e: JsonException) {
                throw InvalidSidecarException(fileName, "not valid JSON (${e.message})")
            }
            val d = root as? Map<*, *> ?: throw InvalidSidecarException(fileName, "not a JSON object")
            return Fields(d, fileName).toModelInfo()
        }
    }

    private class Fields(val d: Map<*, *>, val fileName: String) {
        fun bad(problem: String) = InvalidSidecarException(fileName, problem)

        fun toModelInfo(): ModelInfo {
            val version = d["format_version"]
            if (!(version is Long && version == FORMAT_VERSION.toLong())) {
                throw UnsupportedFormatVersionException(fileName, version, FORMAT_VERSION)
            }
            val missing = listOf("task", "input_size", "labels").filter { !d.containsKey(it) }
            if (missing.isNotEmpty()) throw bad("missing field(s): ${missing.joinToString(", ")}")

            val task = string("task")
            if (task !in TASKS) throw bad("task \"$task\" is not one of ${TASKS.joinToString(", ")}")
            val layout = if (d["output_layout"] == null) "probabilities" else string("output_layout")
            if (layout !in OUTPUT_LAYOUTS) {
                throw bad("output_layout \"$layout\" is not one of ${OUTPUT_LAYOUTS.joinToString(", ")}")
            }
            val size = d["input_size"] as? List<*>
            if (size == null || size.size != 2 || size.any { !(it is Long && it > 0 && it < 100000) }) {
                throw bad("input_size ${d["input_size"]} is not [height, width]")
            }
            val labels = (d["labels"] as? List<*>)?.map { it as? String ?: throw bad("labels holds a non-string $it") }
                ?: throw bad("labels is not a list of strings")
            val colorOrder = if (d["color_order"] == null) "RGB" else string("color_order")
            if (colorOrder != "RGB" && colorOrder != "BGR") throw bad("color_order \"$colorOrder\" is not RGB or BGR")
            val std = three("std", 127.5)
            if (std.any { it == 0.0 }) throw bad("std must not be 0")
            val anchors = anchors()
            if (layout == "ssd_raw" && anchors == null) throw bad("output_layout ssd_raw needs anchors")
            val scales = d["box_scales"]?.let { floats("box_scales", it, 4) } ?: DEFAULT_BOX_SCALES
            return ModelInfo(
                task = task,
                inputHeight = (size[0] as Long).toInt(),
                inputWidth = (size[1] as Long).toInt(),
                labels = labels,
                mean = three("mean", 127.5),
                std = std,
                colorOrder = colorOrder,
                outputLayout = layout,
                quantization = if (d["quantization"] == null) "none" else string("quantization"),
                inputQuantization = tensorQuantization("input_quantization"),
                outputQuantization = tensorQuantization("output_quantization"),
                anchors = anchors,
                boxScales = scales,
                architecture = d["architecture"] as? String,
                edgevisionVersion = d["edgevision_version"] as? String
            )
        }

        fun string(key: String): String = d[key] as? String ?: throw bad("$key is not a string")

        fun number(key: String, value: Any?): Double = when (value) {
            is Long -> value.toDouble()
            is Double -> value
            else -> throw bad("$key holds ${describe(value)}, not a number")
        }

        fun doubles(key: String, value: Any?, n: Int): DoubleArray {
            val list = value as? List<*> ?: throw bad("$key is not a list of $n numbers")
            if (list.size != n) throw bad("$key has ${list.size} values, expected $n")
            return DoubleArray(n) { number(key, list[it]) }
        }

        fun floats(key: String, value: Any?, n: Int): FloatArray {
            val v = doubles(key, value, n)
            return FloatArray(n) { v[it].toFloat() }
        }

        /** mean/std: one number or three, as metadata.py accepts (kept as doubles, as Python keeps them). */
        fun three(key: String, default: Double): DoubleArray {
            val value = d[key] ?: return doubleArrayOf(default, default, default)
            if (value is Long || value is Double) {
                val v = number(key, value)
                return doubleArrayOf(v, v, v)
            }
            return doubles(key, value, 3)
        }

        fun tensorQuantization(key: String): TensorQuantization? {
            val value = d[key] ?: return null
            val q = value as? Map<*, *> ?: throw bad("$key is not an object {dtype, scale, zero_point}")
            val dtype = q["dtype"] as? String ?: throw bad("$key.dtype is missing")
            if (dtype != "int8" && dtype != "uint8") throw bad("$key.dtype \"$dtype\" is not int8 or uint8")
            val scale = number("$key.scale", q["scale"])
            if (!(scale > 0.0)) throw bad("$key.scale must be positive")
            val zero = q["zero_point"] as? Long ?: throw bad("$key.zero_point is not an integer")
            return TensorQuantization(dtype, scale, zero.toInt())
        }

        fun anchors(): List<FloatArray>? {
            val value = d["anchors"] ?: return null
            val list = value as? List<*> ?: throw bad("anchors is not a list of [ycenter, xcenter, h, w]")
            return list.map { floats("anchors", it, 4) }
        }
    }
}
