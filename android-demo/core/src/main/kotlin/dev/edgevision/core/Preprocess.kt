package dev.edgevision.core

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Camera frame to the model's input tensor bytes, as the sidecar describes the input:
 * rotate upright, resize to the input size, order the channels, then map each pixel through
 * a 256-entry table per channel, computed in double precision as the Python runtime's
 * `runtime/preprocess.py` computes it: `(pixel - mean) / std` stored as float32, or for
 * quantized inputs `round((pixel - mean) / std / scale + zero_point)`, ties (within 1e-3, the
 * float32 error of a stored scale) rounded up, clipped: with mean 127.5 every pixel is a tie.
 */
class Preprocessor(private val info: ModelInfo) {
    private val quant = info.inputQuantization
    private val floatTable: Array<FloatArray> = Array(3) { c ->
        FloatArray(256) { p -> ((p - info.mean[c]) / info.std[c]).toFloat() }
    }
    private val byteTable: Array<ByteArray> = Array(3) { c ->
        val q = quant
        ByteArray(256) { p ->
            if (q == null) 0.toByte() else {
                val v = Math.floor((p - info.mean[c]) / info.std[c] / q.scale + q.zeroPoint + 0.5 + 1e-3)
                (if (v < q.min) q.min else if (v > q.max) q.max else v.toInt()).toByte()
            }
        }
    }

    /** Bytes per input tensor: H * W * 3 elements of 4 bytes (float32) or 1 byte (int8/uint8). */
    val tensorBytes: Int get() = info.inputHeight * info.inputWidth * 3 * (if (quant == null) 4 else 1)

    fun fromYuv(frame: YuvFrame, rotationDegrees: Int): ByteArray =
        fromRgb(Images.rotate(Images.yuvToRgb(frame), rotationDegrees))

    /** An upright RGB image (any size) to the input tensor bytes (float32 little-endian or 8-bit). */
    fun fromRgb(upright: RgbImage): ByteArray {
        val resized = Images.resizeBilinear(upright, info.inputWidth, info.inputHeight)
        val pixels = if (info.colorOrder == "BGR") Images.swapRedBlue(resized) else resized
        return if (quant == null) normalise(pixels.data) else quantize(pixels.data)
    }

    private fun normalise(data: ByteArray): ByteArray {
        val buffer = ByteBuffer.allocate(data.size * 4).order(ByteOrder.LITTLE_ENDIAN)
        for (i in data.indices) buffer.putFloat(floatTable[i % 3][data[i].toInt() and 0xFF])
        return buffer.array()
    }

    private fun quantize(data: ByteArray): ByteArray = ByteArray(data.size) { i -> byteTable[i % 3][data[i].toInt() and 0xFF] }
}
