"""edgevision: train, shrink, export, run and measure vision models for small devices."""

__version__ = "0.1.0"
