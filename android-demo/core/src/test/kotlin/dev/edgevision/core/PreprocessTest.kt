package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder

class PreprocessTest {
    private fun info(extra: String, size: String = "[1, 2]") = ModelInfo.parse(
        """{"task": "classify", "input_size": $size, "labels": ["a"], "format_version": 1 $extra}""", "m.json"
    )

    private val pixels = RgbImage(2, 1, bytes(0, 128, 255, 10, 20, 30))

    @Test
    fun floatInputIsPixelMinusMeanOverStdLittleEndian() {
        val p = Preprocessor(info(""", "mean": [0, 127.5, 255], "std": [1, 127.5, 2]"""))
        val buf = ByteBuffer.wrap(p.fromRgb(pixels)).order(ByteOrder.LITTLE_ENDIAN)
        val values = FloatArray(6) { buf.getFloat() }
        assertArrayEquals(floatArrayOf(0f, 0.003921569f, 0f, 10f, (20f - 127.5f) / 127.5f, -112.5f), values, 0f)
        assertEquals(24, p.tensorBytes)
    }

    @Test
    fun bgrModelsGetTheirChannelsSwapped() {
        val p = Preprocessor(info(""", "mean": 0, "std": 1, "color_order": "BGR", "input_quantization": {"dtype": "uint8", "scale": 1.0, "zero_point": 0}"""))
        assertArrayEquals(intArrayOf(255, 128, 0, 30, 20, 10), unsigned(p.fromRgb(pixels)))
    }

    @Test
    fun int8InputRoundsTiesUpAndSaturates() {
        // x = (p - 127.5) / 127.5, q = round(x / (1/128) + 0)
        val p = Preprocessor(info(""", "input_quantization": {"dtype": "int8", "scale": 0.0078125, "zero_point": 0}"""))
        val q = p.fromRgb(pixels)
        assertArrayEquals(bytes(-128, 1, 127, -118, -108, -98), q)
        assertEquals(6, p.tensorBytes)
        // x / scale = 0.5, 1.5, 2.5, ... rounds up, as the Python runtime does (to even merged levels in pairs)
        val halves = Preprocessor(info(""", "mean": 0, "std": 2, "input_quantization": {"dtype": "uint8", "scale": 1, "zero_point": 0}"""))
        assertArrayEquals(intArrayOf(1, 2, 3, 4, 5, 6), unsigned(halves.fromRgb(RgbImage(2, 1, bytes(1, 3, 5, 7, 9, 11)))))
    }

    @Test
    fun resizesToTheInputSizeFirst() {
        val p = Preprocessor(info(""", "mean": 0, "std": 1, "input_quantization": {"dtype": "uint8", "scale": 1, "zero_point": 0}""", "[3, 3]"))
        val img = RgbImage(2, 2, bytes(0, 10, 200, 255, 20, 100, 30, 40, 50, 60, 70, 80))
        assertArrayEquals(Images.resizeBilinear(img, 3, 3).data, p.fromRgb(img))
    }

    @Test
    fun yuvFramesAreConvertedAndRotatedFirst() {
        val p = Preprocessor(info(""", "mean": 0, "std": 1, "input_quantization": {"dtype": "uint8", "scale": 1, "zero_point": 0}""", "[4, 2]"))
        val frame = YuvFrame(4, 2, bytes(16, 50, 100, 235, 16, 80, 128, 255), 4, bytes(90, 240), bytes(240, 110), 2, 1)
        val upright = Images.rotate(Images.yuvToRgb(frame), 90)
        assertArrayEquals(upright.data, p.fromYuv(frame, 90))
    }
}
