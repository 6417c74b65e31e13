package dev.edgevision.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Camera frame to the model's input tensor bytes, as the sidecar describes the input:
 * rotate upright, resize to the input size, order the channels, then normalise
 * (`(pixel - mean) / std`, float32) or quantize (`round(x / scale + zero_point)`, int8/uint8).
 */
class Preprocessor(private val info: ModelInfo) {
    private val quant = info.inputQuantization

    /** Bytes per input tensor: H * W * 3 elements of 4 bytes (float32) or 1 byte (int8/uint8). */
    val tensorBytes: Int get() = info.inputHeight * info.inputWidth * 3 * (if (quant == null) 4 else 1)

    fun fromYuv(frame: YuvFrame, rotationDegrees: Int): ByteArray =
        fromRgb(Images.rotate(Images.yuvToRgb(frame), rotationDegrees))

    /** An upright RGB image (any size) to the input tensor bytes (float32 little-endian or 8-bit). */
    fun fromRgb(upright: RgbImage): ByteArray {
        val resized = Images.resizeBilinear(upright, info.inputWidth, info.inputHeight)
        val pixels = if (info.colorOrder == "BGR") Images.swapRedBlue(resized) else resized
        return if (quant == null) normalise(pixels) else quantize(pixels, quant)
    }

    private fun normalise(img: RgbImage): ByteArray {
        val buffer = ByteBuffer.allocate(img.data.size * 4).order(ByteOrder.LITTLE_ENDIAN)
        for (i in img.data.indices) {
            val c = i % 3
            buffer.putFloat(((img.data[i].toInt() and 0xFF).toFloat() - info.mean[c]) / info.std[c])
        }
        return buffer.array()
    }

    private fun quantize(img: RgbImage, q: TensorQuantization): ByteArray {
        val out = ByteArray(img.data.size)
        for (i in img.data.indices) {
            val c = i % 3
            val x = ((img.data[i].toInt() and 0xFF).toFloat() - info.mean[c]) / info.std[c]
            val v = Math.rint((x / q.scale + q.zeroPoint).toDouble()).toInt()
            out[i] = (if (v < q.min) q.min else if (v > q.max) q.max else v).toByte()
        }
        return out
    }
}
