package dev.edgevision.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

class MetricsTest {
    @Test
    fun percentilesInterpolateLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90]) == [3.0, 7.6]
        val values = doubleArrayOf(10.0, 1.0, 3.0, 2.0, 4.0)
        assertEquals(3.0, MetricsTracker.percentile(values, 50.0)!!, 1e-12)
        assertEquals(7.6, MetricsTracker.percentile(values, 90.0)!!, 1e-12)
        assertNull(MetricsTracker.percentile(DoubleArray(0), 50.0))
    }

    @Test
    fun latencyWindowKeepsTheNewestFrames() {
        val m = MetricsTracker(window = 3)
        for (ms in listOf(100.0, 1.0, 2.0, 3.0)) m.addLatency("inference", ms)
        assertEquals(3.0, m.percentile("inference", 100.0)!!, 0.0)
        assertEquals(2.0, m.percentile("inference", 50.0)!!, 0.0)
        assertNull(m.percentile("render", 50.0))
        assertEquals(3.0, m.last("inference")!!, 0.0)
        assertNull(m.last("render"))
    }

    @Test
    fun rollingFpsOverTheWindow() {
        val m = MetricsTracker(window = 5)
        assertEquals(0.0, m.fps(), 0.0)
        var t = 0L
        repeat(10) { m.frameDone(t); t += 100_000_000L } // 10 FPS
        repeat(4) { m.frameDone(t); t += 25_000_000L } // then 40 FPS
        // window: the last 5 frame times, 4 intervals: one 100 ms gap and three 25 ms gaps
        assertEquals(4 / 0.175, m.fps(), 1e-9)
        assertEquals(14L, m.frames)
    }
}
