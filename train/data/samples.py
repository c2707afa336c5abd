"""A run's faces once verified: one Sample per face, gathered per split in a Scan with what was left out."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from monitor.core.types import Box


@dataclass(frozen=True)
class Sample:
    """One face to learn from: a file, its class index, and its box (None = the whole picture)."""

    path: str
    label: int
    box: Box | None = None
    target: tuple[float, ...] | None = None  # soft label (vote shares per class); None = one-hot of `label`
    source: str = ""  # the data folder it came from (per-source counts when several are mixed)


@dataclass
class Scan:
    """What a data folder holds once verified: classes, samples per split, and what was left out."""

    classes: list[str]
    splits: dict[str, list[Sample]]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    no_face: list[tuple[str, int, str]] = field(default_factory=list)  # (path, label, split)
    layout: str = "split folders"
    files: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # vote-labelled pictures left out, by reason
    roots: dict[Path, str] = field(default_factory=dict)  # resolved data folder -> its name (a sample's source)
    warnings: list[str] = field(default_factory=list)  # what the user should know before training on it, a line each

    def counts(self) -> dict[str, dict[str, int]]:
        """Samples per class in each split, for printing and for the metadata."""
        out = {}
        for split, samples in self.splits.items():
            c = Counter(s.label for s in samples)
            out[split] = {name: c.get(i, 0) for i, name in enumerate(self.classes)}
        return out

    def of_source(self, *sources: str) -> Scan:
        """The same scan restricted to these data folders' samples (per-source metrics, an operating point fitted on some)."""
        return Scan(
            classes=self.classes,
            splits={split: [s for s in samples if s.source in sources] for split, samples in self.splits.items()},
            no_face=[n for n in self.no_face if source_of(n[0], self.roots) in sources],
            layout=self.layout,
            roots=self.roots,
        )

    def source_counts(self) -> dict[str, dict[str, int]]:
        """Samples per split of each data folder, when several are taken together: {source: {split: n}}."""
        out: dict[str, dict[str, int]] = {}
        for split, samples in self.splits.items():
            for source, n in sorted(Counter(s.source for s in samples).items()):
                out.setdefault(source, {})[split] = n
        return out


def source_of(path: str | Path, roots: dict[Path, str]) -> str:
    """The name of the data folder that holds `path` ('' if none does)."""
    resolved = Path(path).resolve()
    return next((name for root, name in roots.items() if resolved.is_relative_to(root)), "")
