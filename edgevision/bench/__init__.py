"""Benchmark and diagnostics: device information, latency/accuracy measurement, reports, `doctor`."""
