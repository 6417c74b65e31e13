package dev.edgevision.core

/** An 8-bit image, three interleaved channels per pixel (RGB unless said otherwise), rows packed. */
class RgbImage(val width: Int, val height: Int, val data: ByteArray) {
    init {
        require(width > 0 && height > 0) { "image size ${width}x$height" }
        require(data.size == width * height * 3) { "expected ${width * height * 3} bytes, got ${data.size}" }
    }

    /** Channel [c] of pixel ([x], [y]) as 0..255. */
    fun at(x: Int, y: Int, c: Int): Int = data[(y * width + x) * 3 + c].toInt() and 0xFF
}

/**
 * One camera frame in Android's YUV_420_888 layout: a full-size Y plane and half-size U and V
 * planes, each with its own row stride, the chroma planes with a pixel stride (1 for planar
 * I420, 2 for the interleaved NV21/NV12 buffers most phones deliver). Plane arrays start at the
 * plane's first byte, as `ImageProxy.planes[i].buffer` does.
 */
class YuvFrame(
    val width: Int,
    val height: Int,
    val y: ByteArray,
    val yRowStride: Int,
    val u: ByteArray,
    val v: ByteArray,
    val uvRowStride: Int,
    val uvPixelStride: Int
) {
    init {
        require(width > 0 && height > 0) { "frame size ${width}x$height" }
        require(yRowStride >= width && y.size >= yRowStride * (height - 1) + width) { "Y plane too small" }
        val cw = (width + 1) / 2
        val ch = (height + 1) / 2
        val need = uvRowStride * (ch - 1) + uvPixelStride * (cw - 1) + 1
        require(uvPixelStride >= 1 && u.size >= need && v.size >= need) { "U/V planes too small" }
    }
}

object Images {
    // ITU-R BT.601 limited range in 20-bit fixed point, as OpenCV's COLOR_YUV2RGB_NV21 and
    // libyuv (which CameraX uses for RGBA output) convert camera frames.
    private const val CY = 1220542
    private const val CUB = 2116026
    private const val CUG = -409993
    private const val CVG = -852492
    private const val CVR = 1673527
    private const val SHIFT = 20
    private const val HALF = 1 shl (SHIFT - 1)

    /** YUV_420_888 to RGB, bit-exact with OpenCV's `cvtColor(..., COLOR_YUV2RGB_NV21)`. */
    fun yuvToRgb(f: YuvFrame): RgbImage {
        val out = ByteArray(f.width * f.height * 3)
        var o = 0
        for (row in 0 until f.height) {
            val yBase = row * f.yRowStride
            val uvBase = (row shr 1) * f.uvRowStride
            for (col in 0 until f.width) {
                val uvIndex = uvBase + (col shr 1) * f.uvPixelStride
                val uu = (f.u[uvIndex].toInt() and 0xFF) - 128
                val vv = (f.v[uvIndex].toInt() and 0xFF) - 128
                val yy = Math.max(0, (f.y[yBase + col].toInt() and 0xFF) - 16) * CY
                out[o++] = clampByte((yy + HALF + CVR * vv) shr SHIFT)
                out[o++] = clampByte((yy + HALF + CVG * vv + CUG * uu) shr SHIFT)
                out[o++] = clampByte((yy + HALF + CUB * uu) shr SHIFT)
            }
        }
        return RgbImage(f.width, f.height, out)
    }

    /** Rotate clockwise by 0, 90, 180 or 270 degrees (CameraX's `imageInfo.rotationDegrees`). */
    fun rotate(img: RgbImage, degrees: Int): RgbImage {
        val d = ((degrees % 360) + 360) % 360
        if (d == 0) return img
        require(d == 90 || d == 180 || d == 270) { "rotation $degrees is not a multiple of 90" }
        val w = img.width
        val h = img.height
        val ow = if (d == 180) w else h
        val oh = if (d == 180) h else w
        val out = ByteArray(img.data.size)
        for (oy in 0 until oh) {
            for (ox in 0 until ow) {
                val sx: Int
                val sy: Int
                when (d) {
                    90 -> { sx = oy; sy = h - 1 - ox }
                    180 -> { sx = w - 1 - ox; sy = h - 1 - oy }
                    else -> { sx = w - 1 - oy; sy = ox }
                }
                System.arraycopy(img.data, (sy * w + sx) * 3, out, (oy * ow + ox) * 3, 3)
            }
        }
        return RgbImage(ow, oh, out)
    }

    /** Swap the first and third channel (RGB <-> BGR). */
    fun swapRedBlue(img: RgbImage): RgbImage {
        val out = img.data.copyOf()
        var i = 0
        while (i < out.size) {
            val t = out[i]
            out[i] = out[i + 2]
            out[i + 2] = t
            i += 3
        }
        return RgbImage(img.width, img.height, out)
    }

    /**
     * Bilinear resize, bit-exact with OpenCV's `cv2.resize(img, (w, h), interpolation=INTER_LINEAR)`
     * on 8-bit images (what the Python runtime uses): half-pixel centres, 11-bit fixed-point
     * weights, horizontal edges clamped to the border pixel, vertical taps clamped row by row, and
     * the vertical pass rounded as OpenCV's SIMD kernel rounds it.
     */
    fun resizeBilinear(img: RgbImage, outWidth: Int, outHeight: Int): RgbImage {
        require(outWidth > 0 && outHeight > 0) { "target size ${outWidth}x$outHeight" }
        val xs = Taps.of(img.width, outWidth, clampToEdge = true)
        val ys = Taps.of(img.height, outHeight, clampToEdge = false)
        val rowLen = outWidth * 3
        val h0 = IntArray(rowLen)
        val h1 = IntArray(rowLen)
        val out = ByteArray(outWidth * outHeight * 3)
        for (oy in 0 until outHeight) {
            val r0 = clampIndex(ys.index[oy], img.height)
            val r1 = clampIndex(ys.index[oy] + 1, img.height)
            horizontal(img, r0, xs, h0)
            horizontal(img, r1, xs, h1)
            val b0 = ys.w0[oy]
            val b1 = ys.w1[oy]
            val base = oy * rowLen
            for (i in 0 until rowLen) {
                val v = ((((h0[i] shr 4) * b0) shr 16) + (((h1[i] shr 4) * b1) shr 16) + 2) shr 2
                out[base + i] = clampByte(v)
            }
        }
        return RgbImage(outWidth, outHeight, out)
    }

    private fun horizontal(img: RgbImage, row: Int, xs: Taps, dst: IntArray) {
        val rowBase = row * img.width * 3
        val data = img.data
        for (ox in xs.index.indices) {
            val s0 = rowBase + xs.index[ox] * 3
            val s1 = rowBase + clampIndex(xs.index[ox] + 1, img.width) * 3
            val a0 = xs.w0[ox]
            val a1 = xs.w1[ox]
            for (c in 0 until 3) {
                dst[ox * 3 + c] = (data[s0 + c].toInt() and 0xFF) * a0 + (data[s1 + c].toInt() and 0xFF) * a1
            }
        }
    }

    /** Source index and the two 11-bit weights of each output coordinate. */
    private class Taps(val index: IntArray, val w0: IntArray, val w1: IntArray) {
        companion object {
            fun of(src: Int, dst: Int, clampToEdge: Boolean): Taps {
                val scale = 1.0 / (dst.toDouble() / src)
                val index = IntArray(dst)
                val w0 = IntArray(dst)
                val w1 = IntArray(dst)
                for (d in 0 until dst) {
                    val f = ((d + 0.5) * scale - 0.5).toFloat()
                    var s = Math.floor(f.toDouble()).toInt()
                    var frac = f - s
                    if (clampToEdge) {
                        if (s < 0) { s = 0; frac = 0f }
                        if (s >= src - 1) { s = src - 1; frac = 0f }
                    }
                    index[d] = s
                    w0[d] = Math.rint(((1f - frac) * 2048f).toDouble()).toInt()
                    w1[d] = Math.rint((frac * 2048f).toDouble()).toInt()
                }
                return Taps(index, w0, w1)
            }
        }
    }

    private fun clampIndex(i: Int, n: Int) = if (i < 0) 0 else if (i >= n) n - 1 else i

    internal fun clampByte(v: Int): Byte = (if (v < 0) 0 else if (v > 255) 255 else v).toByte()
}
