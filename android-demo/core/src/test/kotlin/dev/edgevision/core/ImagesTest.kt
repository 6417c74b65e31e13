package dev.edgevision.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test

fun bytes(vararg values: Int) = ByteArray(values.size) { values[it].toByte() }

fun unsigned(b: ByteArray) = IntArray(b.size) { b[it].toInt() and 0xFF }

class ImagesTest {
    private val img2x2 = RgbImage(2, 2, bytes(0, 10, 200, 255, 20, 100, 30, 40, 50, 60, 70, 80))

    @Test
    fun bilinearUpscaleMatchesOpenCv() {
        // cv2.resize(img2x2, (3, 3), interpolation=cv2.INTER_LINEAR) with OpenCV 5.0
        val expected = intArrayOf(0, 10, 200, 127, 15, 150, 255, 20, 100, 15, 25, 125, 86, 35, 108, 158, 45, 90, 30, 40, 50, 45, 55, 65, 60, 70, 80)
        assertArrayEquals(expected, unsigned(Images.resizeBilinear(img2x2, 3, 3).data))
    }

    @Test
    fun bilinearDownscaleMatchesOpenCv() {
        val src = RgbImage(6, 4, ByteArray(72) { (it * 3).toByte() })
        val expected = intArrayOf(
            11, 14, 17, 25, 28, 31, 38, 41, 44, 52, 55, 58, 83, 86, 89, 97, 100, 103, 110, 113, 116, 124, 127, 130,
            155, 158, 161, 169, 172, 175, 182, 185, 188, 196, 199, 202
        )
        assertArrayEquals(expected, unsigned(Images.resizeBilinear(src, 4, 3).data))
    }

    @Test
    fun resizeToTheSameSizeIsACopyAndFlatStaysFlat() {
        val src = RgbImage(5, 3, ByteArray(45) { (it * 37).toByte() })
        assertArrayEquals(src.data, Images.resizeBilinear(src, 5, 3).data)
        val flat = RgbImage(7, 5, ByteArray(105) { 200.toByte() })
        assertArrayEquals(ByteArray(33 * 3) { 200.toByte() }, Images.resizeBilinear(flat, 11, 3).data)
    }

    @Test
    fun rotationsFollowCameraXRotationDegrees() {
        val src = RgbImage(3, 2, bytes(0, 3, 6, 9, 12, 15, 18, 21, 24, 54, 57, 60, 63, 66, 69, 72, 75, 78))
        // cv2.rotate(src, cv2.ROTATE_90_CLOCKWISE)
        val cw = Images.rotate(src, 90)
        assertEquals(2, cw.width)
        assertEquals(3, cw.height)
        assertArrayEquals(intArrayOf(54, 57, 60, 0, 3, 6, 63, 66, 69, 9, 12, 15, 72, 75, 78, 18, 21, 24), unsigned(cw.data))
        assertArrayEquals(src.data, Images.rotate(Images.rotate(src, 180), 180).data)
        assertArrayEquals(src.data, Images.rotate(Images.rotate(src, 270), 90).data)
        assertArrayEquals(Images.rotate(src, 270).data, Images.rotate(src, -90).data)
        assertEquals(src, Images.rotate(src, 360))
    }

    @Test
    fun yuvStridesAndPixelStridesGiveTheSameRgb() {
        val w = 4
        val h = 2
        val y = bytes(16, 50, 100, 235, 16, 80, 128, 255)
        val u = bytes(90, 240)
        val v = bytes(240, 110)
        val planar = Images.yuvToRgb(YuvFrame(w, h, y, w, u, v, 2, 1))
        // The same frame as a phone delivers it: padded rows and interleaved V/U (NV21, pixel stride 2).
        val yPadded = ByteArray(8 * h)
        for (r in 0 until h) System.arraycopy(y, r * w, yPadded, r * 8, w)
        val vu = bytes(240, 90, 110, 240)
        val vPlane = vu.copyOfRange(0, 3)
        val uPlane = vu.copyOfRange(1, 4)
        val nv21 = Images.yuvToRgb(YuvFrame(w, h, yPadded, 8, uPlane, vPlane, 4, 2))
        assertArrayEquals(planar.data, nv21.data)
        // Y=16 with neutral-ish chroma is dark; BT.601 limited range: Y=255, U=V=128 would be white.
        val white = Images.yuvToRgb(YuvFrame(2, 2, bytes(235, 235, 235, 235), 2, bytes(128), bytes(128), 1, 1))
        assertArrayEquals(IntArray(12) { 255 }, unsigned(white.data))
    }

    @Test
    fun swapRedBlue() {
        assertArrayEquals(intArrayOf(200, 10, 0), unsigned(Images.swapRedBlue(RgbImage(1, 1, bytes(0, 10, 200))).data))
    }
}
