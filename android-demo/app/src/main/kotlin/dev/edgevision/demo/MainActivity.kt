package dev.edgevision.demo

import android.Manifest
import android.content.pm.PackageManager
import android.os.Bundle as AndroidBundle
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.Spinner
import android.widget.TextView
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.appcompat.widget.SwitchCompat
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.Preview
import androidx.camera.core.resolutionselector.AspectRatioStrategy
import androidx.camera.core.resolutionselector.ResolutionSelector
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import dev.edgevision.core.Bundle
import dev.edgevision.core.BundleException
import dev.edgevision.core.Postprocessor
import java.util.Locale
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Camera preview with the bundled model running on every frame it can keep up with:
 * boxes/labels in an overlay, inference time, FPS and model size in a HUD, and any problem
 * with the bundle or the model as a message on screen.
 */
class MainActivity : AppCompatActivity() {
    private lateinit var preview: PreviewView
    private lateinit var overlay: OverlayView
    private lateinit var hud: TextView
    private lateinit var error: TextView
    private lateinit var threadsSpinner: Spinner
    private lateinit var gpuSwitch: SwitchCompat

    /** Analysis and interpreter (re)creation share this one thread, so they never race. */
    private val analysisExecutor: ExecutorService = Executors.newSingleThreadExecutor()
    private var bundle: Bundle? = null
    private var analyzer: FrameAnalyzer? = null
    private val threadChoices = listOf(1, 2, 4, 8)

    private val requestCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else showError(getString(R.string.camera_permission_denied))
    }

    override fun onCreate(savedInstanceState: AndroidBundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        preview = findViewById(R.id.preview)
        overlay = findViewById(R.id.overlay)
        hud = findViewById(R.id.hud)
        error = findViewById(R.id.error)
        threadsSpinner = findViewById(R.id.threads)
        gpuSwitch = findViewById(R.id.gpu)

        val loaded = try {
            Bundle.load(AssetSource(assets))
        } catch (e: BundleException) {
            showError(e.message ?: e.toString())
            return
        }
        bundle = loaded

        threadsSpinner.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, threadChoices)
        val cores = Runtime.getRuntime().availableProcessors()
        threadsSpinner.setSelection(threadChoices.indexOfLast { it <= cores }.coerceAtLeast(0))
        threadsSpinner.onItemSelectedListener = object : AdapterView.OnItemSelectedListener {
            override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) = rebuildRunner()
            override fun onNothingSelected(parent: AdapterView<*>?) = Unit
        }
        gpuSwitch.setOnCheckedChangeListener { _, _ -> rebuildRunner() }

        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) {
            startCamera()
        } else {
            requestCamera.launch(Manifest.permission.CAMERA)
        }
    }

    /** A new interpreter with the chosen threads / accelerator, swapped in on the analysis thread. */
    private fun rebuildRunner() {
        val b = bundle ?: return
        val threads = threadChoices[threadsSpinner.selectedItemPosition.coerceAtLeast(0)]
        val gpu = gpuSwitch.isChecked
        analysisExecutor.execute {
            val current = analyzer ?: return@execute // the camera start builds the first one
            try {
                val runner = createRunner(b, threads, gpu)
                val old = current.runner
                current.runner = runner
                old.close()
            } catch (e: BundleException) {
                runOnUiThread { showError(e.message ?: e.toString()) }
            }
        }
    }

    private fun createRunner(b: Bundle, threads: Int, gpu: Boolean): ModelRunner {
        val runner = ModelRunner(b, threads, gpu)
        try {
            Postprocessor(b.info, b.labels).classCount(runner.outputShapes)?.let { b.requireClassCount(it) }
        } catch (e: BundleException) {
            runner.close()
            throw e
        }
        return runner
    }

    private fun startCamera() {
        val b = bundle ?: return
        val threads = threadChoices[threadsSpinner.selectedItemPosition.coerceAtLeast(0)]
        val gpu = gpuSwitch.isChecked
        analysisExecutor.execute {
            val frameAnalyzer = try {
                FrameAnalyzer(b, createRunner(b, threads, gpu), ::onFrame) { message ->
                    runOnUiThread { showError(message) }
                }
            } catch (e: BundleException) {
                runOnUiThread { showError(e.message ?: e.toString()) }
                return@execute
            }
            analyzer = frameAnalyzer
            runOnUiThread { bindCamera(frameAnalyzer) }
        }
    }

    private fun bindCamera(frameAnalyzer: FrameAnalyzer) {
        val future = ProcessCameraProvider.getInstance(this)
        future.addListener(Runnable {
            try {
                val provider = future.get()
                val resolution = ResolutionSelector.Builder()
                    .setAspectRatioStrategy(AspectRatioStrategy.RATIO_4_3_FALLBACK_AUTO_STRATEGY)
                    .build()
                val previewUseCase = Preview.Builder().setResolutionSelector(resolution).build()
                previewUseCase.setSurfaceProvider(preview.surfaceProvider)
                val analysis = ImageAnalysis.Builder()
                    .setResolutionSelector(resolution)
                    .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                    .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_YUV_420_888)
                    .build()
                analysis.setAnalyzer(analysisExecutor, frameAnalyzer)
                provider.unbindAll()
                provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, previewUseCase, analysis)
            } catch (e: Exception) {
                showError("camera: ${e.message ?: e.javaClass.simpleName}")
            }
        }, ContextCompat.getMainExecutor(this))
    }

    private fun onFrame(report: FrameReport) {
        val m = report.metrics
        val b = bundle ?: return
        val runner = analyzer?.runner
        val text = String.format(
            Locale.US,
            "inference %.1f ms (p50 %.1f, p90 %.1f)\npre %.1f ms  post %.1f ms\n%.1f FPS\nmodel %.2f MB, %s\n%s, %d threads",
            m.last("inference") ?: 0.0,
            m.percentile("inference", 50.0) ?: 0.0,
            m.percentile("inference", 90.0) ?: 0.0,
            m.percentile("preprocess", 50.0) ?: 0.0,
            m.percentile("postprocess", 50.0) ?: 0.0,
            m.fps(),
            b.modelSizeBytes / 1e6,
            b.info.quantization,
            runner?.accelerator ?: "",
            runner?.threads ?: 0
        )
        runOnUiThread {
            hud.text = text
            overlay.show(report.result, report.imageWidth, report.imageHeight)
        }
    }

    private fun showError(message: String) {
        error.text = message
        error.visibility = View.VISIBLE
    }

    override fun onDestroy() {
        super.onDestroy()
        analysisExecutor.execute { analyzer?.runner?.close() }
        analysisExecutor.shutdown()
    }
}
