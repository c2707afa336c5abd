"""Make docs/live-view.png: what the live window shows, drawn by the monitor's own steps on a recorded video.

    python3 docs/live_view.py ../shared/videos/frown_then_smile.mp4 240 docs/live-view.png

The frames go through the same frame loop and steps as `python -m monitor`'s window (probability
bars, the mood strip and the key hint); the frame at the given index is saved as the window
would show it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

import cv2  # noqa: E402

from monitor import EmotionMonitor  # noqa: E402
from monitor.apps.live_view import LiveView, MoodStrip, ViewState  # noqa: E402
from monitor.apps.loop import Annotate, FrameLoop  # noqa: E402
from monitor.io.sources import frames, open_source  # noqa: E402


def main() -> int:
    video, index, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    monitor = EmotionMonitor()
    state = ViewState()
    steps = [Annotate(lambda: 30.0, bars=lambda: state.bars), LiveView(state, MoodStrip(monitor.classes))]
    source = open_source(video)
    try:
        for result in FrameLoop(monitor.video_pipeline(), steps).run(frames(source)):
            if result.frame.index == index:
                cv2.imwrite(str(out), result.frame.image)
                print(f"wrote {out} (frame {index} of {video})")
                return 0
    finally:
        source.release()
    print(f"{video} has no frame {index}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
