"""Real-time facial emotion monitor: detect faces, classify their expression, log the mood."""

__version__ = "0.1.0"
