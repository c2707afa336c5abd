"""Which model and settings wrote a mood log: one record per run, in a sidecar next to the log.

`mood-....csv.json` holds `{"runs": [...]}`, a record appended each time a run starts writing to
the log: the program's version, the model (name, file, SHA-256, classes, class bias, temperature),
the options that change labels (smoothing, detect-every, min-face, stride, classes, blur) and the
source. `report` matches each run of a log to the latest record that started before it, prints
the model per run and warns when one report mixes models or settings. The sidecar is rewritten
whole through a temporary file, so a crash leaves the old or the new one, never half of one.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from monitor import __version__
from monitor.core.errors import UserError

SUFFIX = ".json"
LABEL_SETTINGS = ("classes", "class_bias", "smooth", "detect_every", "min_face")  # what changes the labels a run shows


def sidecar_path(log: Path) -> Path:
    """`logs/mood-x.csv` -> `logs/mood-x.csv.json`."""
    return log.with_name(log.name + SUFFIX)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_record(classifier, source: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What a run is: program, model, settings that change labels, source, and when it started (local time with offset)."""
    meta = classifier.metadata
    path = Path(classifier.path)
    model = {
        "name": path.parent.name,
        "file": str(path),
        "sha256": file_hash(path),
        "classes": list(classifier.classes),
        "class_bias": dict(meta.get("class_bias") or {}),
        "temperature": (meta.get("calibration") or {}).get("temperature"),
    }
    if meta.get("restricted_from"):
        model["restricted_from"] = list(meta["restricted_from"])
    return {
        "started": datetime.datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "program": f"emotion-monitor {__version__}",
        "model": model,
        "settings": settings,
        "source": source,
    }


def read_runs(log: Path) -> list[dict[str, Any]]:
    """The records of a log's sidecar, oldest first; [] when there is none (a log from before sidecars, or copied alone)."""
    path = sidecar_path(log)
    if not path.is_file():
        return []
    try:
        runs = json.loads(path.read_text(encoding="utf-8")).get("runs", [])
    except (OSError, ValueError, AttributeError):
        return []  # unreadable: the report says nothing about models rather than fail on the log itself
    return [r for r in runs if isinstance(r, dict) and "started" in r]


def append_run(log: Path, record: dict[str, Any]) -> Path:
    """Add a run's record to the log's sidecar (created beside the log); its path."""
    path = sidecar_path(log)
    runs = read_runs(log) + [record]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"runs": runs}, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write the log's sidecar ({err.strerror}); pass a writable --log") from None
    return path


def label_settings(record: dict[str, Any]) -> tuple:
    """What must match for two runs' labels to be comparable: the model file and the settings that change labels."""
    settings = record.get("settings", {})
    return (record.get("model", {}).get("sha256"), *(json.dumps(settings.get(k), sort_keys=True) for k in LABEL_SETTINGS))
