"""Which model and settings made each run of a report: read from the logs' sidecars (`monitor.moodlog.provenance`).

A run is matched to the last record of its log's sidecar that started before it (a second's grace
for clocks): the model's name and a short hash of its file, the class bias, and the settings that
change labels. Runs of one report made by different models or settings get a warning, as their
labels are not comparable.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from monitor.moodlog.provenance import label_settings, read_runs


def describe_record(record: dict) -> str:
    """'happy-neutral-sad 2cbe7858, class bias sad=1.0, smooth 5' : what a person needs to tell two runs' models apart."""
    model = record.get("model", {})
    settings = record.get("settings", {})
    text = f"{model.get('name', '?')} {str(model.get('sha256', ''))[:8]}".strip()
    bias = settings.get("class_bias") or model.get("class_bias")
    if bias:
        text += ", class bias " + ",".join(f"{k}={v:g}" for k, v in bias.items())
    if settings.get("classes"):
        text += ", classes " + ",".join(settings["classes"])
    return text


def attach(runs: pd.DataFrame, log: Path) -> pd.DataFrame:
    """The log's runs with `model` (a description, '' when unknown), `settings` (a key to compare) and `record` columns."""
    records = read_runs(log)
    out = runs.copy()
    if not records or "start" not in out:
        out["model"], out["settings"], out["record"] = "", "", None
        return out
    started = pd.to_datetime([r["started"] for r in records], utc=True, format="ISO8601")
    photos = [r for r in records if r.get("settings", {}).get("mode") == "photos"]
    chosen = []
    for start, kind in zip(out["start"], out["kind"]):
        if kind == "picture":  # a picture's time is its file's, not the run's: the log's last photo run made it
            chosen.append(photos[-1] if photos else None)
            continue
        before = [i for i, t in enumerate(started) if t <= start + pd.Timedelta(seconds=1)]
        chosen.append(records[before[-1]] if before else None)
    out["model"] = [describe_record(r) if r else "" for r in chosen]
    out["settings"] = [repr(label_settings(r)) if r else "" for r in chosen]
    out["record"] = chosen
    return out


def mixed_note(runs: pd.DataFrame) -> str | None:
    """A warning when the runs with a known model were made by more than one model or setting."""
    if "settings" not in runs:
        return None
    known = runs[runs["settings"] != ""]
    if known["settings"].nunique() <= 1:
        return None
    return (
        f"warning: these runs were made by {known['settings'].nunique()} different models or settings (see 'models'), "
        "so their labels are not comparable"
    )


def groups(runs: pd.DataFrame, most: int = 3) -> list[str]:
    """One line per model and settings: its description, how many runs, the first few runs' names ('' model: no sidecar)."""
    out = []
    for model, names in runs.groupby(runs["model"].fillna(""), sort=False).groups.items():
        names = list(names)
        shown = ", ".join(map(str, names[:most])) + (" ..." if len(names) > most else "")
        out.append(f"{model or 'unknown (no sidecar)'}: {len(names)} run{'s' if len(names) != 1 else ''} ({shown})")
    return out
