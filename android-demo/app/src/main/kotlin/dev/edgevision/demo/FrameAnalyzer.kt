package dev.edgevision.demo

import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import dev.edgevision.core.Bundle
import dev.edgevision.core.BundleException
import dev.edgevision.core.FrameResult
import dev.edgevision.core.Images
import dev.edgevision.core.MetricsTracker
import dev.edgevision.core.Postprocessor
import dev.edgevision.core.Preprocessor
import dev.edgevision.core.YuvFrame
import java.nio.ByteBuffer

/** What the screen shows for one analysed frame. */
class FrameReport(val result: FrameResult, val imageWidth: Int, val imageHeight: Int, val metrics: MetricsTracker)

/**
 * Runs on CameraX's analysis executor (STRATEGY_KEEP_ONLY_LATEST: a slow model skips frames,
 * it never queues them): YUV frame -> core pre-processing -> LiteRT -> core post-processing.
 * The first error stops the analysis and is reported once; the app shows it instead of crashing.
 */
class FrameAnalyzer(
    bundle: Bundle,
    @Volatile var runner: ModelRunner,
    private val onFrame: (FrameReport) -> Unit,
    private val onError: (String) -> Unit
) : ImageAnalysis.Analyzer {
    private val preprocessor = Preprocessor(bundle.info)
    private val postprocessor = Postprocessor(bundle.info, bundle.labels)
    val metrics = MetricsTracker(window = 120)
    @Volatile private var failed = false
    private val planes = arrayOfNulls<ByteArray>(3)

    override fun analyze(image: ImageProxy) {
        try {
            if (!failed) analyzeFrame(image)
        } catch (e: BundleException) {
            fail(e.message ?: e.toString())
        } catch (e: RuntimeException) {
            fail("inference failed: ${e.javaClass.simpleName}: ${e.message}")
        } finally {
            image.close()
        }
    }

    private fun analyzeFrame(image: ImageProxy) {
        val t0 = System.nanoTime()
        val upright = Images.rotate(Images.yuvToRgb(toYuvFrame(image)), image.imageInfo.rotationDegrees)
        val tensor = preprocessor.fromRgb(upright)
        val t1 = System.nanoTime()
        val outputs = runner.run(tensor)
        val t2 = System.nanoTime()
        val result = postprocessor.run(outputs, upright.width, upright.height)
        val t3 = System.nanoTime()
        metrics.addLatency("preprocess", (t1 - t0) / 1e6)
        metrics.addLatency("inference", (t2 - t1) / 1e6)
        metrics.addLatency("postprocess", (t3 - t2) / 1e6)
        metrics.frameDone(t3)
        onFrame(FrameReport(result, upright.width, upright.height, metrics))
    }

    private fun fail(message: String) {
        if (!failed) {
            failed = true
            onError(message)
        }
    }

    /** Copy the three planes out of the camera buffer (reusing arrays between frames). */
    private fun toYuvFrame(image: ImageProxy): YuvFrame {
        val p = image.planes
        val y = copy(0, p[0].buffer)
        val u = copy(1, p[1].buffer)
        val v = copy(2, p[2].buffer)
        return YuvFrame(image.width, image.height, y, p[0].rowStride, u, v, p[1].rowStride, p[1].pixelStride)
    }

    private fun copy(i: Int, buffer: ByteBuffer): ByteArray {
        buffer.rewind()
        var array = planes[i]
        if (array == null || array.size != buffer.remaining()) {
            array = ByteArray(buffer.remaining())
            planes[i] = array
        }
        buffer.get(array)
        return array
    }
}
