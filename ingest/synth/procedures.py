"""Which NICIP procedure codes the synthetic records carry.

A small table of COMMON codes per modality and setting, with relative weights (E: informed by
the sample codes in did-dataset.md §4.3, the Scottish study mix quoted in §7 — "XR Chest" about a
third of plain films, "US Abdomen" about half of ultrasound — and the MRI body-area split in §5.2:
head 25%, spine 26%, limbs 16%). Every code is checked against the shipped NICIP list at run
time; a code the list does not hold is dropped (and the weights renormalised), so the generator
never plants an unknown code by accident.

The five GP-direct-access cancer test groups are classes of their own: their codes come from
the catalogue's `test_group` column, and the other GP-direct-access classes never draw a code
that belongs to a test group (so the five test volumes are exactly what the model planted).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

# Setting groups for the code mix: A&E, admitted (inpatient / day case), outpatient-like
# (outpatient, other provider, other) and GP direct access.
SETTING_OF_SOURCE = {"01": "IP", "02": "IP", "03": "OP", "04": "GP", "05": "AE", "06": "OP", "07": "OP"}

CODE_MIX: dict[str, dict[str, dict[str, float]]] = {
    "XR": {
        # injuries dominate A&E films; chest films are about a fifth
        "AE": {
            "XCHES": 22,
            "XANKL": 4,
            "XANKR": 4,
            "XWRIL": 4,
            "XWRIR": 4,
            "XHANL": 3,
            "XHANR": 3,
            "XFOOL": 3,
            "XFOOR": 3,
            "XKNEL": 3,
            "XKNER": 3,
            "XHIPL": 3,
            "XHIPR": 3,
            "XSHRL": 3,
            "XSHRR": 3,
            "XELBL": 2,
            "XELBR": 2,
            "XFINL": 2,
            "XFINR": 2,
            "XPELV": 4,
            "XCSPN": 3,
            "XABDO": 2,
            "XFARL": 1.5,
            "XFARR": 1.5,
            "XSKUH": 1,
        },
        "IP": {
            "XCHES": 60,
            "XABDO": 12,
            "XPELV": 6,
            "XHIPL": 4,
            "XHIPR": 4,
            "XLSPN": 3,
            "XSKUH": 2,
            "XKNEL": 2,
            "XKNER": 2,
            "XSHRL": 1,
            "XSHRR": 1,
        },
        "OP": {
            "XCHES": 25,
            "XKNEB": 8,
            "XKNEL": 5,
            "XKNER": 5,
            "XHIPB": 6,
            "XPELV": 5,
            "XLSPN": 6,
            "XCSPN": 4,
            "XFOOB": 4,
            "XHANB": 4,
            "XSHRL": 3,
            "XSHRR": 3,
            "XDEXA": 5,
            "XABDO": 3,
            "XWRIL": 2,
            "XWRIR": 2,
            "XTSPN": 2,
            "XMAMB": 5,
        },
        # GP direct access other than the chest X-ray test group
        "GP": {
            "XKNEB": 12,
            "XKNEL": 6,
            "XKNER": 6,
            "XHIPB": 8,
            "XLSPN": 8,
            "XPELV": 6,
            "XFOOB": 5,
            "XHANB": 5,
            "XSHRL": 4,
            "XSHRR": 4,
            "XABDO": 4,
            "XCSPN": 4,
            "XTSPN": 2,
            "XDEXA": 6,
            "XWRIL": 2,
            "XWRIR": 2,
            "XANKL": 2,
            "XANKR": 2,
            "XMAMB": 3,
        },
    },
    "US": {
        "AE": {"UABDO": 50, "UPELV": 15, "UKIDB": 10, "UAORT": 5, "UCHES": 5, "UTEST": 5},
        "IP": {"UABDO": 40, "UKIDB": 15, "UPELV": 10, "ULIVE": 8, "UCHES": 6, "UNECK": 3},
        "OP": {
            "UABDO": 15,
            "UPELV": 12,
            "UKIDB": 6,
            "UODAT": 8,
            "UOFG": 6,
            "UO2T": 5,
            "UTHYD": 6,
            "UNECK": 3,
            "UTEST": 4,
            "UMAMB": 6,
            "USHRL": 3,
            "USHRR": 3,
            "UAORT": 2,
            "ULIVE": 4,
        },
        "GP": {
            "UTHYD": 14,
            "UNECK": 8,
            "UTEST": 10,
            "USHRL": 7,
            "USHRR": 7,
            "UMAMB": 8,
            "UGRNL": 4,
            "UGRNR": 4,
            "UKIDB": 10,
            "UPELV": 10,
            "UABDO": 10,
            "ULIVE": 4,
            "UHANB": 2,
            "UANKB": 2,
        },
    },
    "CT": {
        "AE": {
            "CSKUH": 55,
            "CCSPN": 8,
            "CABPEC": 12,
            "CPULV": 8,
            "CCHAPC": 5,
            "CABDO": 3,
            "CKIDB": 4,
            "CLSPN": 2,
            "CFACI": 1,
            "CPELV": 2,
        },
        "IP": {
            "CSKUH": 25,
            "CABPEC": 20,
            "CCHAPC": 15,
            "CPULV": 10,
            "CCHES": 8,
            "CCHESC": 5,
            "CKIDB": 3,
            "CSKUHC": 3,
            "CLSPN": 3,
            "CCOLO": 2,
        },
        "OP": {
            "CCHAPC": 20,
            "CCHESC": 10,
            "CCHES": 8,
            "CABPEC": 12,
            "CSKUH": 8,
            "CSINU": 3,
            "CCOLO": 5,
            "CKIDB": 4,
            "CLSPN": 3,
            "CNECKC": 4,
            "CCARDC": 6,
            "CPELV": 2,
            "CLIVE": 2,
        },
        "GP": {"CSKUH": 30, "CKIDB": 10, "CSINU": 10, "CLSPN": 10, "CCOLO": 10, "CNECKC": 5, "CCARDC": 5, "CCHAPC": 5},
    },
    "MR": {
        "AE": {"MLSPN": 45, "MSKUH": 35, "MCSPN": 10, "MTSPN": 5, "MSKUHC": 5},
        "IP": {"MSKUH": 40, "MLSPN": 15, "MCSPN": 8, "MTSPN": 5, "MLIVE": 5, "MPELV": 5, "MCARD": 3, "MABDO": 4},
        "OP": {
            "MSKUH": 15,
            "MLSPN": 15,
            "MCSPN": 6,
            "MKNEL": 5,
            "MKNER": 5,
            "MPROS": 6,
            "MSHRL": 3,
            "MSHRR": 3,
            "MHIPB": 2,
            "MPELV": 3,
            "MLIVE": 3,
            "MCARD": 4,
            "MIAMB": 3,
            "MWBOD": 1,
            "MTSPN": 2,
            "MMAMB": 2,
            "MABDO": 2,
        },
        "GP": {
            "MLSPN": 30,
            "MKNEL": 12,
            "MKNER": 12,
            "MCSPN": 10,
            "MSHRL": 5,
            "MSHRR": 5,
            "MHIPB": 5,
            "MIAMB": 8,
            "MPROS": 5,
            "MTSPN": 3,
        },
    },
    "FL": {
        s: {
            "FBASW": 15,
            "FBAEN": 5,
            "FHYSG": 10,
            "FVENG": 5,
            "FCARD": 15,
            "FSINO": 3,
            "FLSPN": 5,
            "FARTK": 5,
            "FPTCH": 3,
            "FBAME": 8,
            "FVIDS": 10,
            "FABDO": 5,
            "FHIPB": 5,
        }
        for s in ("AE", "IP", "OP", "GP")
    },
    "NM": {
        s: {
            "NBONW": 30,
            "NMPSRC": 15,
            "NLUPS": 10,
            "NRCSQ": 5,
            "NTHYS": 5,
            "NPTHY": 5,
            "NGERS": 3,
            "NSIND": 5,
            "NDMSA": 5,
            "NCOLO": 2,
        }
        for s in ("AE", "IP", "OP", "GP")
    },
    "PET": {s: {"NPET": 1} for s in ("AE", "IP", "OP", "GP")},
    "OT": {s: {"OMEDP": 70, "OSPEC": 15, "OTORS": 15} for s in ("AE", "IP", "OP", "GP")},
}

# Preferred codes inside each GP-direct-access cancer test group (used when the catalogue puts
# them in that group; otherwise all the group's catalogue codes are used, equally weighted).
TEST_GROUP_MIX: dict[str, dict[str, float]] = {
    "chest_xray": {"XCHES": 1},
    "us_abdo_pelvis": {"UABPE": 50, "UABDO": 35, "UPELV": 15},
    "ct_chest": {"CCHESC": 60, "CCHES": 40},
    "ct_abdo_pelvis": {"CABPEC": 80, "CABPE": 20},
    "mri_brain": {"MSKUH": 70, "MSKUHC": 30},
}

# Codes that only make sense for one sex; a record of the other sex gets the fallback instead.
FEMALE_ONLY = {"UODAT", "UOFG", "UO2T", "XMAMB", "MMAMB", "FHYSG"}
MALE_ONLY = {"UTEST", "MPROS"}
SEX_FALLBACK = {"X": "XCHES", "U": "UABDO", "M": "MLSPN", "F": "FBASW"}

# Local codes a RIS might send instead of a national one (planted "unknown procedure" defect).
LOCAL_CODES = ("XCHE1", "ZZCT01", "LOCAL", "UABD99", "CHEAD", "MRBRN", "XR999", "USS01")


@dataclass(frozen=True)
class CodeTable:
    """Codes and cumulative weights for one record class."""

    codes: np.ndarray  # str
    cdf: np.ndarray  # float, last == 1

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.codes[np.searchsorted(self.cdf, rng.random(n), side="right").clip(0, len(self.codes) - 1)]


def _table(weights: dict[str, float]) -> CodeTable:
    codes = np.array(list(weights), dtype=object)
    w = np.array(list(weights.values()), dtype=float)
    return CodeTable(codes, np.cumsum(w) / w.sum())


def code_tables(catalogue: pl.DataFrame, classes: list) -> list[CodeTable]:
    """One CodeTable per record class (modality, source, test group), checked against the catalogue."""
    known = dict(zip(catalogue["nicip_code"].to_list(), catalogue["test_group"].to_list(), strict=True))
    tables = []
    for c in classes:
        modality, source, group = c.modality, c.source, c.group
        if group is not None:
            mix = {c: w for c, w in TEST_GROUP_MIX[group].items() if known.get(c) == group}
            if not mix:
                mix = {c: 1.0 for c, g in known.items() if g == group}
            if not mix:
                raise ValueError(f"the NICIP catalogue has no code in test group {group!r}")
        else:
            mix = {c: w for c, w in CODE_MIX[modality][SETTING_OF_SOURCE[source]].items() if c in known}
            if source == "04":  # GPDA codes outside the five test groups
                mix = {c: w for c, w in mix.items() if known[c] is None}
            if not mix:
                raise ValueError(f"no NICIP code left for {modality} source {source}")
        tables.append(_table(mix))
    return tables


def unknown_codes(catalogue: pl.DataFrame) -> np.ndarray:
    known = set(catalogue["nicip_code"].to_list())
    return np.array([c for c in LOCAL_CODES if c not in known], dtype=object)


def modality_of_code(codes: pl.Expr) -> pl.Expr:
    """Internal modality key from a NICIP code (first letter; NPET* is PET-CT)."""
    first = codes.str.slice(0, 1)
    return (
        pl.when(codes.str.starts_with("NPET"))
        .then(pl.lit("PET"))
        .when(first == "X")
        .then(pl.lit("XR"))
        .when(first == "U")
        .then(pl.lit("US"))
        .when(first == "C")
        .then(pl.lit("CT"))
        .when(first == "M")
        .then(pl.lit("MR"))
        .when(first == "F")
        .then(pl.lit("FL"))
        .when(first == "N")
        .then(pl.lit("NM"))
        .otherwise(pl.lit("OT"))
    )
