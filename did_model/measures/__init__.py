"""GP benchmarking measures, one YAML file per measure in this folder (architecture §6).

A measure says what it counts (numerator: which tests, from which patient source), what it
counts against (denominator: the practice's registered patients, or another count for a
ratio), the multiplier, whether higher or lower is better (or neither), its caveats, and who
wrote and reviewed it. OpenPrescribing's measure files are the model.

The files are data; `SCHEMA` below is their schema and `load_measures()` validates every file
against it, with messages that name the file, the field and what would be accepted. Filter
values are closed vocabularies (the spec's patient source codes, `did_model.nicip` modalities,
body areas and test groups), so a measure can only ever name values the store holds — which
is also what makes it safe for `did_model/rollup_defs/gp.py` to write them into the rollup's SQL.

This module reads files only: nothing here touches a store, so both `ingest/` (the rollup) and
`queries/` (the statistics) import it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from did_errors import UsageError
from did_model.nicip import BODY_AREAS, MODALITIES, PET_MODALITY, TEST_GROUPS
from did_model.spec import PATIENT_SOURCE_SETTING

MEASURES_DIR = Path(__file__).resolve().parent
POLARITIES = ("higher_is_better", "lower_is_better", "none")
DENOMINATORS = ("list_size", "count")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{2,40}$")

# The filter keys a numerator or count denominator may use, and the values each accepts.
FILTER_VALUES: dict[str, tuple[str, ...]] = {
    "patient_source": tuple(PATIENT_SOURCE_SETTING),
    "test_group": tuple(TEST_GROUPS),
    "modality": tuple(dict.fromkeys([*MODALITIES.values(), PET_MODALITY])),
    "body_area": BODY_AREAS,
}

# field -> (type, required). Nested blocks are checked by _check_filter / _check_denominator.
SCHEMA: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "id": (str, True),
    "title": (str, True),
    "short_title": (str, True),
    "description": (str, True),
    "why_it_matters": (str, True),
    "numerator": (dict, True),
    "denominator": (dict, True),
    "multiplier": (int, True),
    "units": (str, True),
    "polarity": (str, True),
    "standardise": (bool, False),
    "caveats": (list, True),
    "authored_by": (str, True),
    "reviewed_by": (str, True),
    "review_date": (date, True),
    "tags": (list, False),
}


class MeasureError(UsageError):
    """A measure file that does not follow the schema. The message names the file and field."""


@dataclass(frozen=True)
class Measure:
    id: str
    title: str
    short_title: str
    description: str
    why_it_matters: str
    numerator: dict[str, tuple[str, ...]]
    denominator_type: str  # list_size | count
    denominator: dict[str, tuple[str, ...]]  # filters, when denominator_type == "count"
    denominator_label: str
    multiplier: int
    units: str
    polarity: str
    standardise: bool
    caveats: tuple[str, ...]
    authored_by: str
    reviewed_by: str
    review_date: date
    tags: tuple[str, ...] = ()

    @property
    def is_ratio(self) -> bool:
        """A share of another count (a proportion), rather than a rate per registered patient."""
        return self.denominator_type == "count"


def _fail(path: Path, field: str, message: str) -> MeasureError:
    return MeasureError(f"{path.name}: {field}: {message}")


def _check_filter(path: Path, field: str, block: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(block, dict) or not block:
        raise _fail(path, field, "must be a mapping of filters, e.g. {patient_source: ['04'], modality: [MRI]}")
    out: dict[str, tuple[str, ...]] = {}
    for key, values in block.items():
        if key not in FILTER_VALUES:
            raise _fail(path, f"{field}.{key}", f"unknown filter; use {', '.join(FILTER_VALUES)}")
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values:
            raise _fail(path, f"{field}.{key}", "must be a non-empty list")
        for v in values:
            if not isinstance(v, str) or v not in FILTER_VALUES[key]:
                raise _fail(
                    path,
                    f"{field}.{key}",
                    f"{v!r} is not one of {', '.join(FILTER_VALUES[key])}"
                    + (" (quote codes such as '04' so YAML keeps them text)" if key == "patient_source" else ""),
                )
        out[key] = tuple(values)
    if "patient_source" not in out:
        raise _fail(path, f"{field}.patient_source", "required: say which patient source(s) are counted")
    return out


def parse_measure(path: Path, raw: Any) -> Measure:
    """Validate one measure file's content against SCHEMA and return it as a Measure."""
    if not isinstance(raw, dict):
        raise _fail(path, "(file)", "must be a YAML mapping")
    for field, (kind, required) in SCHEMA.items():
        if field not in raw:
            if required:
                raise _fail(path, field, "required field is missing")
            continue
        value = raw[field]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _fail(
                path,
                field,
                f"must be {getattr(kind, '__name__', kind)}, got {type(value).__name__}"
                + (" (write the date as YYYY-MM-DD, unquoted)" if kind is date else ""),
            )
        if isinstance(value, str) and kind is str and not value.strip():
            raise _fail(path, field, "must not be empty")
    unknown = sorted(set(raw) - set(SCHEMA))
    if unknown:
        raise _fail(path, ", ".join(unknown), "unknown field(s); the schema has " + ", ".join(SCHEMA))
    if not ID_PATTERN.match(raw["id"]):
        raise _fail(path, "id", "lower-case letters, digits and _, 3-41 characters")
    if path.stem != raw["id"]:
        raise _fail(path, "id", f"must match the file name ({path.stem})")
    if raw["polarity"] not in POLARITIES:
        raise _fail(path, "polarity", f"one of {', '.join(POLARITIES)}")
    if raw["multiplier"] not in (100, 1000, 10000, 100000):
        raise _fail(path, "multiplier", "one of 100 (percent), 1000, 10000, 100000 (per N patients)")
    if not raw["caveats"] or not all(isinstance(c, str) and c.strip() for c in raw["caveats"]):
        raise _fail(path, "caveats", "a non-empty list of sentences")
    numerator = _check_filter(path, "numerator", raw["numerator"])
    den = raw["denominator"]
    kind = den.get("type")
    if kind not in DENOMINATORS:
        raise _fail(path, "denominator.type", f"one of {', '.join(DENOMINATORS)}")
    label = den.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _fail(path, "denominator.label", "required: say in words what the denominator counts")
    filters: dict[str, tuple[str, ...]] = {}
    if kind == "count":
        filters = _check_filter(path, "denominator.count", {k: v for k, v in den.items() if k not in ("type", "label")})
        if raw.get("standardise"):
            raise _fail(path, "standardise", "only a rate per registered patient can be age-sex standardised")
        if raw["multiplier"] != 100:
            raise _fail(path, "multiplier", "a ratio of two counts is shown as a percentage: use 100")
        # A share needs its numerator inside its denominator: every numerator filter must be at
        # least as narrow as the denominator's.
        for key, values in filters.items():
            if not set(numerator.get(key, values)) <= set(values):
                raise _fail(path, f"numerator.{key}", "must be within the denominator's filter (a share of it)")
    elif set(den) - {"type", "label"}:
        raise _fail(path, "denominator", "a list_size denominator takes no filters")
    return Measure(
        id=raw["id"],
        title=raw["title"].strip(),
        short_title=raw["short_title"].strip(),
        description=raw["description"].strip(),
        why_it_matters=raw["why_it_matters"].strip(),
        numerator=numerator,
        denominator_type=kind,
        denominator=filters,
        denominator_label=label.strip(),
        multiplier=raw["multiplier"],
        units=raw["units"].strip(),
        polarity=raw["polarity"],
        standardise=bool(raw.get("standardise", kind == "list_size")),
        caveats=tuple(c.strip() for c in raw["caveats"]),
        authored_by=raw["authored_by"],
        reviewed_by=raw["reviewed_by"],
        review_date=raw["review_date"],
        tags=tuple(raw.get("tags", ())),
    )


def load_measure_file(path: Path) -> Measure:
    try:
        # The C parser where PyYAML has it (about ten times faster: every command that publishes reads these)
        raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as err:
        raise _fail(Path(path), "(file)", f"not valid YAML: {err}") from err
    return parse_measure(Path(path), raw)


@functools.lru_cache(maxsize=4)
def load_measures(folder: Path = MEASURES_DIR) -> dict[str, Measure]:
    """Every measure in `folder`, validated, keyed by id, in file-name order."""
    measures: dict[str, Measure] = {}
    for path in sorted(Path(folder).glob("*.yaml")):
        m = load_measure_file(path)
        measures[m.id] = m
    if not measures:
        raise MeasureError(f"no measure files (*.yaml) in {folder}")
    return measures
