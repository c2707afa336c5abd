"""Summarise the emotions of every face in a video with the Python API: `python3 docs/example.py VIDEO [--model NAME] [--classes a,b]`.

Prints, per face the monitor tracked, how long it was seen and its share of each label,
and writes the whole video as a mood-log CSV beside the video's name in the current folder.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from monitor import EmotionMonitor  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("video")
    p.add_argument("--model", default="happy-neutral-sad", help="a shipped model's name, or a model file or folder")
    p.add_argument("--classes", help="choose only among these of the model's classes, e.g. happy,sad")
    args = p.parse_args()
    try:
        monitor = EmotionMonitor(model=args.model, classes=args.classes.split(",") if args.classes else None)
    except ValueError as err:  # a model or class that does not exist: one line, not a traceback
        p.error(str(err))
    try:
        table = monitor.dataframe(args.video)  # one row per face per frame, as the mood log
    except ValueError as err:  # a missing or undecodable video
        p.error(str(err))
    faces = table.dropna(subset=["face_id"])
    print(f"{args.video}: {table['frame'].nunique()} frames, {faces['face_id'].nunique()} face(s)")
    for face_id, rows in faces.groupby("face_id"):
        shares = rows["label"].value_counts(normalize=True)
        seconds = rows["stream_time_s"].max() - rows["stream_time_s"].min()
        print(f"  face {face_id}: {len(rows)} frames over {seconds:.1f} s; " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
    out = Path(f"{Path(args.video).stem}-moods.csv")
    table.to_csv(out, index=False)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
