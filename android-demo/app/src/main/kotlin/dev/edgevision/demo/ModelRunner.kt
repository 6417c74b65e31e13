package dev.edgevision.demo

import dev.edgevision.core.Bundle
import dev.edgevision.core.InvalidModelException
import dev.edgevision.core.ModelOutputException
import dev.edgevision.core.OutputTensor
import dev.edgevision.core.TensorQuantization
import dev.edgevision.core.Tensors
import org.tensorflow.lite.DataType
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.Tensor
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The LiteRT interpreter over a bundle's model: XNNPACK on the CPU with [threads] threads, or
 * the GPU delegate when asked for and supported. Checks the model's input against the sidecar
 * and its outputs against the labels before the first frame, so mismatches show up as messages.
 */
class ModelRunner(private val bundle: Bundle, val threads: Int, useGpu: Boolean) : AutoCloseable {
    private val gpuDelegate: GpuDelegate?
    private val interpreter: Interpreter
    private val input: ByteBuffer
    private val outputTensors: List<Tensor>
    private val outputBuffers: List<ByteBuffer>
    private val outputNames: List<String>

    /** "CPU (XNNPACK)", "GPU", or why the GPU was not used. */
    val accelerator: String

    init {
        val options = Interpreter.Options().setNumThreads(threads).setUseXNNPACK(true)
        var delegate: GpuDelegate? = null
        var label = "CPU (XNNPACK)"
        if (useGpu) {
            val compatibility = CompatibilityList()
            if (compatibility.isDelegateSupportedOnThisDevice) {
                delegate = GpuDelegate(compatibility.bestOptionsForThisDevice)
                options.addDelegate(delegate)
                label = "GPU"
            } else {
                label = "CPU (XNNPACK; no GPU delegate on this device)"
            }
            compatibility.close()
        }
        gpuDelegate = delegate
        accelerator = label
        val model = ByteBuffer.allocateDirect(bundle.modelBytes.size).order(ByteOrder.nativeOrder())
        model.put(bundle.modelBytes).rewind()
        interpreter = try {
            Interpreter(model, options)
        } catch (e: IllegalArgumentException) {
            delegate?.close()
            throw InvalidModelException(Bundle.MODEL, "LiteRT cannot load it (${e.message})")
        }
        val inTensor = interpreter.getInputTensor(0)
        try {
            bundle.requireInput(inTensor.shape(), typeName(inTensor.dataType()))
        } catch (e: InvalidModelException) {
            interpreter.close()
            delegate?.close()
            throw e
        }
        input = ByteBuffer.allocateDirect(inTensor.numBytes()).order(ByteOrder.nativeOrder())
        outputTensors = (0 until interpreter.outputTensorCount).map { interpreter.getOutputTensor(it) }
        outputBuffers = outputTensors.map { ByteBuffer.allocateDirect(it.numBytes()).order(ByteOrder.nativeOrder()) }
        outputNames = signatureNames()
    }

    val outputShapes: List<IntArray> get() = outputTensors.map { it.shape() }

    /** One inference: input tensor bytes in, dequantized outputs (with signature names when the model has them) out. */
    fun run(tensor: ByteArray): List<OutputTensor> {
        input.rewind()
        input.put(tensor)
        input.rewind()
        val outputs = HashMap<Int, Any>()
        outputBuffers.forEachIndexed { i, buffer ->
            buffer.rewind()
            outputs[i] = buffer
        }
        interpreter.runForMultipleInputsOutputs(arrayOf<Any>(input), outputs)
        return outputTensors.mapIndexed { i, t -> OutputTensor(outputNames[i], t.shape(), read(t, outputBuffers[i])) }
    }

    private fun read(t: Tensor, buffer: ByteBuffer): FloatArray {
        buffer.rewind()
        val n = t.numElements()
        return when (t.dataType()) {
            DataType.FLOAT32 -> FloatArray(n).also { buffer.asFloatBuffer().get(it) }
            DataType.INT32 -> IntArray(n).also { buffer.asIntBuffer().get(it) }.let { v -> FloatArray(n) { v[it].toFloat() } }
            DataType.UINT8, DataType.INT8 -> {
                val raw = ByteArray(n).also { buffer.get(it) }
                val q = t.quantizationParams()
                val scale = if (q.scale == 0f) 1.0 else q.scale.toDouble()
                Tensors.dequantize(raw, TensorQuantization(typeName(t.dataType()), scale, q.zeroPoint))
            }
            else -> throw ModelOutputException("output ${t.name()} has type ${t.dataType()}, not float32, int32, int8 or uint8")
        }
    }

    /** Output names from the model's signature (TF2 SSD exports name their outputs there), else tensor names. */
    private fun signatureNames(): List<String> {
        val byTensor = HashMap<String, String>()
        try {
            val key = interpreter.signatureKeys.firstOrNull()
            if (key != null) {
                for (name in interpreter.getSignatureOutputs(key)) {
                    byTensor[interpreter.getOutputTensorFromSignature(name, key).name()] = name
                }
            }
        } catch (e: IllegalArgumentException) {
            // No usable signature: tensor names and output order decide.
        }
        return outputTensors.map { byTensor[it.name()] ?: it.name() }
    }

    override fun close() {
        interpreter.close()
        gpuDelegate?.close()
    }

    private fun typeName(type: DataType): String = when (type) {
        DataType.FLOAT32 -> "float32"
        DataType.INT8 -> "int8"
        DataType.UINT8 -> "uint8"
        else -> type.toString()
    }
}
