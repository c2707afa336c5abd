"""Command line: `python -m monitor` (camera, video, stream, photos, folder of videos), `report`, `evaluate`, `bench`.

Parse and dispatch only: each mode lives in `monitor/apps/`, the subcommands in their subsystems.
Modes load lazily, so `report` starts without OpenCV.
"""

from __future__ import annotations

import sys
from pathlib import Path

from monitor.core.errors import UserError, run_cli
from monitor.io import native_logs


def run(argv: list[str]) -> int:
    """The main command: the mode is chosen by what --source is."""
    from monitor.apps import live, photos, videos
    from monitor.apps.options import check_options, parser
    from monitor.io.paths import parse_spec
    from monitor.io.pictures import is_picture_file

    args = parser().parse_args(argv)
    check_options(args)
    source = Path(args.source)
    files = videos.expand(args.source, args.recursive)
    if files is not None:  # a folder or a glob: pictures, or videos in batch
        pictures, found, others = videos.sort_files(files)
        if pictures and found:
            raise UserError(
                f"{args.source}: holds {len(pictures)} pictures and {len(found)} videos; put them in separate folders (or use a glob such as '{source / '*.mp4'}')"
            )
        if found:
            return videos.run(args, found, others, source if source.is_dir() else None)
        if not source.is_dir():
            raise UserError(f"{args.source}: no video matches this pattern; for pictures pass their folder as --source")
    if source.is_dir() or (parse_spec(args.source)[0] == "file" and is_picture_file(source)):
        output = photos.plan_output(source, args.output)
        if files == []:  # nothing at all to read: an input error, before any log is made
            raise UserError(f"{photos.nothing_found(source, args.recursive)}; pass a folder of pictures or videos as --source")
        return photos.run(args, source, monitor_for(args), output)
    if args.output:
        live.check_video_output(args)
    return live.run(args, monitor_for(args))


def monitor_for(args):
    """The Python API's EmotionMonitor for these options: the command line runs the same model, pipelines and rules as scripts."""
    from monitor.api import EmotionMonitor, for_command_line
    from monitor.core.errors import BadInput

    try:
        return EmotionMonitor(
            args.model, args.classes, args.min_face, args.smooth, args.detect_every, class_bias=args.class_bias, blur=args.blur, bars=not args.no_bars
        )
    except BadInput as err:  # the API names arguments; the command line names its options
        raise for_command_line(err) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    native_logs.setup(verbose="--verbose" in argv)

    def dispatch() -> int:
        if argv and argv[0] == "report":
            from monitor.report.command import main as report_main

            return report_main(argv[1:])
        if argv and argv[0] == "evaluate":
            from monitor.evaluation.command import main as evaluate_main

            return evaluate_main(argv[1:])
        if argv and argv[0] == "bench":
            from monitor.evaluation.bench import main as bench_main

            return bench_main(argv[1:])
        return run(argv)

    return run_cli(dispatch)


if __name__ == "__main__":
    sys.exit(main())
