"""A model's metadata.json as one typed record, read and written in one place.

The monitor needs a model's classes, crop rule, class bias and calibration; training also
records where the model came from (data, training, versions, metrics). Those records stay JSON
objects, written once and read by people; what code looks up is a typed field or property.
No TensorFlow and no train/ import: the monitor and the training command both use it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

METADATA = "metadata.json"
DEFAULT_FRACTIONS = (0.15, 0.15)  # a run's val and test shares when its metadata does not say


@dataclass(frozen=True)
class Calibration:
    """The temperature built into the model files, and how well it fits val (see train/calibrate.py)."""

    method: str
    temperature: float
    fitted_on: int
    bins: int
    ece_before: float
    ece_after: float
    nll_before: float
    nll_after: float
    note: str | None = None  # why the network's own confidence was kept

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not (k == "note" and v is None)}


@dataclass(frozen=True, kw_only=True)
class ModelMetadata:
    """Every key of metadata.json, in the order training writes them; None is a key that is absent.

    `extra` keeps keys this version does not know, so a newer file round-trips. `order` keeps
    the keys' order as read, and `but` changes it as a dict would (a new key goes last), so a
    rewritten file differs from the old one only where it changed.
    """

    format: int | None = None
    classes: tuple[str, ...]
    input: dict | None = None
    crop_rule: dict[str, float]  # monitor.core.crop.CropRule's fields
    faces: str | None = None  # --faces as given: 'auto', or per data folder 'auto,affectnet=detect'
    detector: dict | None = None
    picture_search: tuple[str, ...] | None = None
    files: dict[str, str] | None = None
    command: str | None = None
    data: dict | None = None  # what the run read: folders, layout, fractions, counts
    training: dict | None = None  # options, epochs, timing, strategy, device, init_from
    versions: dict[str, str] | None = None
    created: str | None = None
    flip_average: bool | None = None
    calibration: Calibration | None = None
    class_bias: dict[str, float] | None = None  # the operating point, added to log-probabilities
    operating_point: dict | None = None  # how the class bias was fitted
    metrics: dict | None = None
    metrics_by_source: dict | None = None
    metrics_before_export: dict | None = None
    export_command: str | None = None
    extra: dict = field(default_factory=dict)
    order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelMetadata:
        known = {f.name for f in fields(cls)} - {"extra", "order"}
        values = {k: v for k, v in d.items() if k in known}
        values["classes"] = tuple(d["classes"])
        if values.get("picture_search") is not None:
            values["picture_search"] = tuple(values["picture_search"])
        if values.get("calibration") is not None:
            values["calibration"] = Calibration(**values["calibration"])
        return cls(**values, extra={k: v for k, v in d.items() if k not in known}, order=tuple(d))

    @classmethod
    def read(cls, path: Path) -> ModelMetadata:
        """The metadata.json at `path` (a file, or the model folder that holds one)."""
        path = path / METADATA if path.is_dir() else path
        return cls.from_dict(json.loads(path.read_text()))

    def keys(self) -> list[str]:
        """The keys present, in the file's order: as read, then as set."""
        present = [f.name for f in fields(self) if f.name not in ("extra", "order") and getattr(self, f.name) is not None]
        present += list(self.extra)
        return [k for k in self.order if k in present] + [k for k in present if k not in self.order]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.keys():
            value = self.extra[key] if key in self.extra else getattr(self, key)
            if isinstance(value, tuple):
                value = list(value)
            out[key] = value.to_dict() if isinstance(value, Calibration) else value
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, folder: Path) -> Path:
        path = folder / METADATA
        path.write_text(self.to_json())
        return path

    def but(self, **changes: Any) -> ModelMetadata:
        """A copy with these fields changed, as `meta[key] = value` would: None removes a key, a new key goes last."""
        order = [k for k in self.keys() if changes.get(k, 0) is not None]
        order += [k for k, v in changes.items() if v is not None and k not in order]
        return replace(self, **changes, order=tuple(order))

    @property
    def data_dirs(self) -> list[Path]:
        """The training data folders, one or several (stored as a string or a list)."""
        dirs = (self.data or {}).get("dir")
        return [Path(d) for d in dirs] if isinstance(dirs, list) else [Path(dirs)] if dirs else []

    @property
    def fractions(self) -> tuple[float, float]:
        return tuple((self.data or {}).get("fractions", DEFAULT_FRACTIONS))

    @property
    def labels(self) -> str:
        """--labels of the run: what vote-labelled pictures trained against."""
        return (self.data or {}).get("labels", "votes")

    @property
    def seed(self) -> int:
        return int((self.training or {}).get("seed", 0))

    @property
    def init_from(self) -> dict | None:
        """The record of the model this one started from (--init-from), with its own chain."""
        return (self.training or {}).get("init_from")
