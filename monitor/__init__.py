"""Real-time facial emotion monitor: detect faces, classify their expression, log the mood."""

__version__ = "0.1.0"
__all__ = ["EmotionMonitor", "FaceEmotion", "FrameEmotions", "__version__"]


def __getattr__(name: str):
    """`from monitor import EmotionMonitor` loads OpenCV only then: `python -m monitor report` starts without it."""
    if name in ("EmotionMonitor", "FaceEmotion", "FrameEmotions"):
        from monitor import api

        return getattr(api, name)
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")


def program(module: str) -> str:
    """How the user started the command, for usage lines: 'emotion-train' from the installed script, else 'python -m train'."""
    import sys
    from pathlib import Path

    name = Path(sys.argv[0]).name
    return name if name.startswith("emotion-") else f"python -m {module}"
