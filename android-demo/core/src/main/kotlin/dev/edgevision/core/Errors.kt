package dev.edgevision.core

/**
 * Everything that can be wrong with a bundle or a model's outputs, each with a one-line message
 * naming the file and the fix. The app catches [BundleException] and shows the message on screen.
 */
sealed class BundleException(message: String) : Exception(message)

/** A file the bundle needs is not there (e.g. `model.tflite` missing from the app's assets). */
class MissingFileException(val fileName: String, fix: String) :
    BundleException("$fileName is missing: $fix")

/** The sidecar is not valid JSON, lacks a field, or holds a value this reader does not accept. */
class InvalidSidecarException(val fileName: String, problem: String) :
    BundleException("$fileName: $problem: re-export the model with `edgevision export` and bundle it again")

/** The sidecar was written by a newer (or older) schema than this reader knows. */
class UnsupportedFormatVersionException(val fileName: String, val version: Any?, val supported: Int) :
    BundleException(
        "$fileName: unknown format_version ${describe(version)} (this app reads $supported): " +
            "re-export the model with an edgevision release that writes format_version $supported"
    )

/** The labels do not match the model's classes (count or content). */
class LabelMismatchException(val fileName: String, problem: String) :
    BundleException("$fileName: $problem: bundle the labels.txt exported with this model (tools/android_bundle.py)")

/** The model's outputs are not what its description says (shapes, count, layout). */
class ModelOutputException(problem: String) :
    BundleException("model outputs: $problem: check the output_layout in the model's sidecar")

internal fun describe(value: Any?): String = when (value) {
    null -> "null (absent)"
    is String -> "\"$value\""
    else -> value.toString()
}

/** The model file itself is unusable, or does not take the input its sidecar describes. */
class InvalidModelException(val fileName: String, problem: String) :
    BundleException("$fileName: $problem: bundle the model together with the sidecar exported for it (tools/android_bundle.py)")
