"""A run's folders: --out (checked before training, written only when the run succeeds), the work folder it is written in
meanwhile, and the checkpoint folder beside it that --resume continues from."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from monitor.core.errors import UserError
from train.options import read_state


def check_writable(folder: Path, option: str = "--out") -> None:
    """Create `folder` if needed and make sure files can be written in it; the message names `option`.

    The probe file is unique to this process: a multi-worker run's workers check the same folder at once.
    """
    from monitor.io.paths import check_writable_folder, ensure_folder

    ensure_folder(folder, option)
    check_writable_folder(folder, option)


# What a training run writes into its --out folder.
RUN_FILES = (
    "model.keras",
    "model.tflite",
    "metadata.json",
    "curves.png",
    "confusion.png",
    "reliability.png",
    "bad_files.csv",
    "history.csv",
)


def check_out(out: Path, overwrite: bool) -> list[str]:
    """Refuse to train into a folder that holds anything unless --overwrite.

    Returns the names of files there that a run does not write (say, a README): they are kept,
    and the user is told.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"{out}: is a file; --out must be a folder")
    present = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if present and not overwrite:
        raise UserError(
            f"{out}: folder is not empty ({', '.join(present[:5])}); pass another --out, or --overwrite to replace the model in it"
        )
    return [name for name in present if name not in RUN_FILES]


def publish(work: Path, out: Path) -> None:
    """Move a finished run's files from its work folder into --out, replacing an earlier run's."""
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (out / name).exists() and not (work / name).exists():
            (out / name).unlink()  # from the earlier run, not made by this one
    for f in work.iterdir():
        os.replace(f, out / f.name)
    work.rmdir()


# Options that do not change what a run computes: a resumed run may differ in these.
NOT_COMPARED_ON_RESUME = ("resume", "overwrite", "verbose", "peer_timeout")


def prepare_checkpoint(args: argparse.Namespace, out: Path) -> Path:
    """The folder that keeps a run's state after every epoch: new for a fresh run, checked against the options for --resume."""
    folder = out.parent / f".{out.name}.checkpoint"
    settings = {k: v for k, v in vars(args).items() if k not in NOT_COMPARED_ON_RESUME and k != "checkpoint"}
    settings = json.loads(json.dumps(settings, default=str))  # as stored: paths as text, tuples as lists
    state = read_state(folder)
    if args.resume:
        try:
            saved = json.loads((folder / "options.json").read_text())
        except (OSError, ValueError):
            raise UserError(f"--resume: no interrupted run of {out} to continue ({folder}/ not found); start it without --resume") from None
        changed = [k for k in sorted(set(saved) | set(settings)) if saved.get(k) != settings.get(k)]
        if changed:
            shown = ", ".join(f"--{k.replace('_', '-')} {saved.get(k)} (now {settings.get(k)})" for k in changed)
            raise UserError(f"--resume: {out}'s interrupted run had other options: {shown}; give the same ones, or delete {folder} to start afresh")
        if not state:
            print(f"note: {out}'s interrupted run had finished no epoch; starting from the first", file=sys.stderr)
        return folder
    if state:
        raise UserError(
            f"{out}: an interrupted run of it finished {state['epoch']} epoch(s) ({folder}/); pass --resume to continue it, "
            "or delete that folder to start afresh"
        )
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "options.json").write_text(json.dumps(settings, indent=1))
    return folder


def remove_stale_work(parent: Path) -> list[Path]:
    """Delete work folders of earlier runs that were killed (`.NAME.partial-PID/` whose process is gone); returns them."""
    removed = []
    for folder in parent.glob(".*.partial-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if not (folder.is_dir() and pid.isdigit()) or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that run is still going
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's live process
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def train_in_work_folder(out: Path, checkpoint: Path | None, train: Callable[[Path], int]) -> int:
    """Run `train` into a new work folder beside `out`, so --out changes only when the run succeeds.

    A failed or stopped run leaves no model behind and the old model intact; its checkpoint is
    kept when an epoch finished (for --resume) and removed otherwise. Returns `train`'s code;
    the work folder is left for the caller to publish.
    """
    work = work_folder(out)
    work.mkdir()
    try:
        code = train(work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        if checkpoint and (state := read_state(checkpoint)):
            print(
                f"\nnote: the run's state after epoch {state['epoch']} is kept in {checkpoint}/; "
                "run the same command with --resume to continue from there",
                file=sys.stderr,
            )
        elif checkpoint:
            shutil.rmtree(checkpoint, ignore_errors=True)
        raise
    if checkpoint:
        shutil.rmtree(checkpoint, ignore_errors=True)
    return code


def work_folder(out: Path) -> Path:
    """Where a run of this process writes before its files move into `out`."""
    return out.parent / f".{out.name}.partial-{os.getpid()}"
