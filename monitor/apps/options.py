"""The main command's options, and their checks before anything is opened."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from monitor import __version__, program
from monitor.apps.live_view import KEYS
from monitor.core.errors import UserError

EPILOG = """\
other commands:
  python -m monitor report LOG.csv [...]   summarise and plot mood logs (see its --help)
  python -m monitor evaluate [...]         accuracy on real videos labelled by eye and on photos, fer beside it
  python -m monitor bench [--source VIDEO] speed of the pipeline against a naive loop (see its --help)

examples:
  python -m monitor                                   # webcam 0, window, log in logs/
  python -m monitor --source clip.mp4 --output out.mp4 # batch: every frame, as fast as possible
  python -m monitor --source clip.mp4 --realtime      # play a file as if it were a camera
  python -m monitor --source photo.jpg --output labelled.jpg
  python -m monitor --source photos/ --recursive --output labelled/
  python -m monitor --blur --output session.mp4       # every face pixelated in the window and the recording
  python -m monitor --class-bias sad=1                # lean towards sad (see the README's sensitivity table)
  python -m monitor --no-display --jsonl | other-program   # one JSON object per frame on standard output

keys in the window:
""" + "".join(f"  {keys:<8} {what}\n" for keys, what in KEYS)


def parser() -> argparse.ArgumentParser:
    from monitor.vision.classify import class_bias_arg, parse_classes
    from monitor.vision.models import DEFAULT_MODEL, shipped_models

    p = argparse.ArgumentParser(
        prog=program("monitor"),
        description="Box and label every face's emotion live, and log each result with a timestamp to a CSV mood log.",
        epilog=EPILOG.replace("python -m monitor", program("monitor")),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--source",
        default="0",
        help="camera index (default 0), video file, stream URL (rtsp://, http://), picture, folder of pictures, or folder/glob of videos",
    )
    p.add_argument(
        "--model",
        type=Path,
        help=f"a shipped model by name ({', '.join(shipped_models())}; default {DEFAULT_MODEL}), or a model file or folder from `{program('train')}`",
    )
    p.add_argument(
        "--classes",
        type=parse_classes,
        metavar="NAME,NAME,...",
        help="let the model choose only among these of its classes, e.g. --model emotions --classes happy,neutral,sad",
    )
    p.add_argument("--log", type=Path, help="mood log CSV to create or append to (default: logs/mood-<start time>.csv)")
    p.add_argument(
        "--output",
        type=Path,
        help="also write the annotated frames to this video file (.mp4, .m4v, .mov, .mkv or .avi); for a picture an image file, "
        "for a folder a folder",
    )
    p.add_argument("--recursive", action="store_true", help="with a folder --source: include its subfolders")
    p.add_argument("--no-display", action="store_true", help="no window (automatic when there is no display)")
    p.add_argument("--realtime", action="store_true", help="play a video file at its own frame rate, dropping frames like a camera")
    p.add_argument("--stride", type=int, default=1, help="batch mode: process every Nth frame (default 1)")
    p.add_argument(
        "--smooth", type=int, default=5, help="frames over which each face's label is averaged; 1 turns smoothing off (default 5)"
    )
    p.add_argument(
        "--detect-every",
        type=int,
        default=4,
        help="scan the whole frame for faces every Nth frame; in between, known faces are re-found near their last box (default 4; 1 = full scan always)",
    )
    p.add_argument(
        "--min-face",
        type=int,
        help="smallest face to find, in pixels of the frame (default 48; smaller finds faces farther away but scans slower)",
    )
    p.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    p.add_argument(
        "--class-bias",
        type=class_bias_arg,
        metavar="CLASS=B,...",
        help="lean the model towards (B > 0) or away from (B < 0) a class: its probability times e^B, e.g. sad=1; "
        "replaces the model's own operating point (README: sensitivity)",
    )
    p.add_argument("--blur", action="store_true", help="pixelate every face in the window, --output recordings and annotated photos")
    p.add_argument("--no-bars", action="store_true", help="no probability bars beside the faces (the b key toggles them live)")
    p.add_argument("--no-strip", action="store_true", help="no mood strip along the bottom of the window (the m key toggles it)")
    p.add_argument("--jsonl", action="store_true", help="also write one JSON object per processed frame to standard output (for other programs)")
    p.add_argument("--jobs", type=int, help="folder of videos: videos processed in parallel (default: one per CPU core)")
    p.add_argument("--cluster", metavar="ADDRESS", help="folder of videos: run them on this Dask scheduler (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--redo", action="store_true", help="folder of videos: process videos again even when their log is complete")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--verbose", action="store_true", help="also show the libraries' own messages (OpenCV, FFmpeg, LiteRT)")
    p.add_argument("--version", action="version", version=f"emotion-monitor {__version__}")
    return p


def record_run(log: Path, monitor, source: str, args, mode: str) -> None:
    """The log's sidecar gains this run's record: program, model and the options that change labels (moodlog.provenance)."""
    from monitor.moodlog.provenance import append_run, run_record

    settings = {
        "mode": mode,
        "classes": list(args.classes) if args.classes else None,
        "class_bias": args.class_bias,
        "smooth": args.smooth,
        "detect_every": args.detect_every,
        "min_face": args.min_face,
        "stride": args.stride,
        "blur": args.blur,
    }
    append_run(log, run_record(monitor.classifier, source, settings))


def display_available() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def check_options(args) -> None:
    """Each bad option value named in one line, before anything is opened or created."""
    for name in ("stride", "smooth", "detect_every", "max_frames"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} {value}: must be at least 1")
    if args.min_face is not None and args.min_face < 24:
        raise UserError(f"--min-face {args.min_face}: must be at least 24 (the Haar cascade's window)")
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs {args.jobs}: must be at least 1")
