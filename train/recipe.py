"""A model's recipe: the chain of `python -m train` commands recorded in its metadata, oldest first, runnable as written.

Each run records the command that made it and, when it started from another model's
features (`--init-from`), that model's own record. Read back, the chain is the recipe that
reproduces the model from a clean checkout: every intermediate run goes to its own folder
under runs/, never into a shipped model's folder (which a later retraining replaces).
"""

from __future__ import annotations

import shlex
from pathlib import Path


def chain(meta: dict) -> list[dict]:
    """The runs behind a model, oldest first: {'path', 'command'} each, the model's own run last."""
    runs = []
    node = meta.get("training", {}).get("init_from")
    while node:
        runs.append({"path": node.get("path"), "command": node.get("command")})
        node = node.get("init_from")
    runs.reverse()
    own = option(meta.get("command") or "", "--out")
    return [*runs, {"path": own, "command": meta.get("command")}]


def option(command: str, name: str) -> str | None:
    """The value of `name` in a recorded command line (None when absent)."""
    words = shlex.split(command or "")
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


def problems(meta: dict, shipped: str = "models") -> list[str]:
    """Why the recorded chain would not run as written from a clean checkout (empty when it would)."""
    out = []
    runs = chain(meta)
    for i, run in enumerate(runs):
        command = run["command"]
        if not command:
            out.append(f"step {i + 1}: no command recorded")
            continue
        target = option(command, "--out")
        if target and Path(target).parts[:1] == (shipped,):
            out.append(f"step {i + 1} writes into the shipped folder {target}; train into runs/ and copy")
        if i > 0 and option(command, "--init-from") != runs[i - 1]["path"]:
            out.append(f"step {i + 1} starts from {option(command, '--init-from')}, but step {i} wrote {runs[i - 1]['path']}")
        if i > 0 and runs[i - 1]["path"] and option(runs[i - 1]["command"] or "", "--out") != runs[i - 1]["path"]:
            out.append(f"step {i} is recorded at {runs[i - 1]['path']} but its command writes {option(runs[i - 1]['command'] or '', '--out')}")
    return out


def recipe(meta: dict, name: str) -> str:
    """The shell lines that remake the model `name` (a shipped folder's name), oldest step first."""
    runs = chain(meta)
    lines = [run["command"] or "# (no command recorded)" for run in runs]
    export = meta.get("export_command")
    if export:
        lines.append(export)
    last = runs[-1]["path"]
    if last:
        lines.append(f"cp {last}/* models/{name}/")
    return "\n".join(lines)
