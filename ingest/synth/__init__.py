"""Synthetic RIS extracts in DID v1.0 format, calibrated to England (docs/calibration.md).

Real DID records identify patients, so every demo, test and benchmark runs on these files.
`generate()` writes, into one output directory:

- `DID_<provider>_<YYYYMM>.csv` — one file per provider per activity month, named by its
  submission month (period = activity month + 1); the 18 items in `did_model.spec` order, a header
  row for most providers and none for about one in five. Resubmissions go under `resubmitted/`
  with the same name.
- `manifest.csv` — every file in submission order (see `manifest.py`).
- `planted.json` — every planted problem, exactly (see `generator.py` and `defects.py`), and
  `world`: for a slice of England (`area=`), its area codes and names, practices and providers
  (`world.py`; empty for England at a scale).
- `sites.csv` — site_code, provider_code, site_name, provider_name, provider_type ('NHS trust' |
  'Independent sector'), synthetic (true for every site: no real ODS site file is used),
  latitude, longitude.
- `outsourcing.csv` — the outsourcing arrangements planted (provider_code, performing_org_code,
  from_month, to_month: what `did reference load-outsourcing` reads), and
  `outsourced_pairs.csv` — both copies of every examination planted as submitted by both parties
  (`outsourcing.py`; neither in a clean run).
- `equipment.csv` — site_code, modality (`CT` | `MRI`), scanners, scheduled_hours_per_week, synthetic (for
  all that site's scanners of the modality). About 570 CT and 490 MRI in England at any scale; a
  slice gets its share.

`clean=True` plants nothing: every file is sent on time and every record passes every DIDS
reject and warning rule the generator controls, and no outsourced examination is sent twice or
never. Legitimate values stay: report dates missing (~5%), ethnic category Z / 99 (10-20% by
provider), records arriving a month late and corrections re-sent in the next month's file.
"""

from ingest.synth.generator import generate
from ingest.synth.manifest import Manifest, ManifestFile

__all__ = ["Manifest", "ManifestFile", "generate"]
