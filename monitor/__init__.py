"""Real-time facial emotion monitor: detect faces, classify their expression, log the mood."""

__version__ = "0.1.0"
__all__ = ["EmotionMonitor", "FaceEmotion", "FrameEmotions", "__version__"]


def __getattr__(name: str):
    """`from monitor import EmotionMonitor` loads OpenCV only then: `python -m monitor report` starts without it."""
    if name in ("EmotionMonitor", "FaceEmotion", "FrameEmotions"):
        from monitor import api

        return getattr(api, name)
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")


def program(module: str = "monitor") -> str:
    """How the user starts `module` ('monitor' or 'train'), for usage lines and messages: 'emotion-monitor' when this
    process was started by an installed command (emotion-monitor, emotion-train), else 'python -m monitor'."""
    import sys
    from pathlib import Path

    installed = Path(sys.argv[0] if sys.argv else "").name.startswith("emotion-")
    return f"emotion-{module}" if installed else f"python -m {module}"
