package dev.edgevision.core

/**
 * Per-stage latency over the last [window] frames (p50/p90 as numpy's linear percentile) and a
 * rolling FPS from the timestamps of the last [window] frames. Not thread-safe: feed it from one thread.
 */
class MetricsTracker(private val window: Int = 100) {
    private val latencies = LinkedHashMap<String, java.util.ArrayDeque<Double>>()
    private val frameTimesNanos = java.util.ArrayDeque<Long>()
    var frames: Long = 0
        private set

    init {
        require(window >= 2) { "window must hold at least 2 frames" }
    }

    fun addLatency(stage: String, millis: Double) {
        val values = latencies.getOrPut(stage) { java.util.ArrayDeque() }
        values.addLast(millis)
        if (values.size > window) values.removeFirst()
    }

    /** Call once per finished frame with a monotonic clock (`System.nanoTime()`). */
    fun frameDone(nowNanos: Long) {
        frames++
        frameTimesNanos.addLast(nowNanos)
        if (frameTimesNanos.size > window) frameTimesNanos.removeFirst()
    }

    /** Frames per second over the frames in the window; 0 until two frames are in. */
    fun fps(): Double {
        if (frameTimesNanos.size < 2) return 0.0
        val span = frameTimesNanos.peekLast() - frameTimesNanos.peekFirst()
        return if (span <= 0) 0.0 else (frameTimesNanos.size - 1) * 1e9 / span
    }

    fun percentile(stage: String, p: Double): Double? {
        val values = latencies[stage] ?: return null
        return percentile(values.toDoubleArray(), p)
    }

    /** The newest latency of [stage], null before the first. */
    fun last(stage: String): Double? = latencies[stage]?.peekLast()

    fun stages(): List<String> = latencies.keys.toList()

    companion object {
        /** numpy.percentile's default (linear interpolation between closest ranks). */
        fun percentile(values: DoubleArray, p: Double): Double? {
            if (values.isEmpty()) return null
            require(p in 0.0..100.0) { "percentile $p is outside 0..100" }
            val sorted = values.sortedArray()
            val rank = p / 100.0 * (sorted.size - 1)
            val lo = Math.floor(rank).toInt()
            val hi = Math.ceil(rank).toInt()
            return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
        }
    }
}
