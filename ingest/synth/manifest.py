"""What a generation wrote: `manifest.csv` (one row per file, in submission order) and
`planted.json` (every planted problem, exactly, the outsourcing arrangements and what they
planted among them: `outsourcing.py`), read back cheaply with `Manifest.read`.

manifest.csv columns: order, path (relative to the output directory), provider_code, period
(submission month, YYYY-MM), activity_month (YYYY-MM), submitted_on (YYYY-MM-DD), kind
('regular' | 'late' | 'resubmission' | 'file_reject'), records.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_COLUMNS = ("order", "path", "provider_code", "period", "activity_month", "submitted_on", "kind", "records")
KINDS = ("regular", "late", "resubmission", "file_reject")


@dataclass(frozen=True)
class ManifestFile:
    order: int
    path: str
    provider_code: str
    period: str
    activity_month: str
    submitted_on: str
    kind: str
    records: int


@dataclass
class Manifest:
    out_dir: Path
    files: list[ManifestFile]
    planted: dict = field(default_factory=dict)

    @property
    def totals(self) -> dict[str, int]:
        out = {"files": len(self.files), "records": sum(f.records for f in self.files)}
        for k in KINDS:
            out[k] = sum(1 for f in self.files if f.kind == k)
        out["providers"] = len({f.provider_code for f in self.files})
        return out

    def effective(self) -> list[ManifestFile]:
        """The file a loader ends up keeping for each provider and period (the last good one)."""
        keep: dict[tuple[str, str], ManifestFile] = {}
        for f in self.files:
            if f.kind != "file_reject":
                keep[(f.provider_code, f.period)] = f
        return sorted(keep.values(), key=lambda f: f.order)

    def write(self) -> None:
        with open(self.out_dir / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(MANIFEST_COLUMNS)
            for f in self.files:
                w.writerow([getattr(f, c) for c in MANIFEST_COLUMNS])
        with open(self.out_dir / "planted.json", "w", encoding="utf-8") as fh:
            json.dump(self.planted, fh, indent=1, sort_keys=True)
            fh.write("\n")

    @classmethod
    def read(cls, out_dir: Path | str) -> Manifest:
        out_dir = Path(out_dir)
        with open(out_dir / "manifest.csv", newline="", encoding="utf-8") as fh:
            files = [
                ManifestFile(
                    int(r["order"]),
                    r["path"],
                    r["provider_code"],
                    r["period"],
                    r["activity_month"],
                    r["submitted_on"],
                    r["kind"],
                    int(r["records"]),
                )
                for r in csv.DictReader(fh)
            ]
        planted_path = out_dir / "planted.json"
        planted = json.loads(planted_path.read_text(encoding="utf-8")) if planted_path.exists() else {}
        return cls(out_dir, files, planted)

    def as_rows(self) -> list[dict]:
        return [asdict(f) for f in self.files]
