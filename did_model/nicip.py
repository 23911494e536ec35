"""The NICIP catalogue: modality, body area, GP-direct-access test group and typical dose per code.

The shipped code list (data/reference/nicip/nicip_codes.csv) has codes only — no descriptions,
no SNOMED CT map, no modality. Everything here is therefore *derived from the shape of the code*:
NICIP codes are "meaningful", the first character gives the modality and the next few characters
a mnemonic for the body part (docs: did-dataset.md §4). The rules below were written by reading
the 2,787 real codes; they are a heuristic, good enough to group activity on a chart, and they
say 'Other' rather than guess where a mnemonic is unclear. Load an official NICIP release with
`did reference load-nicip FILE` to replace the list (and its descriptions) — the same rules then
run over the release's codes.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

NICIP_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "nicip" / "nicip_codes.csv"
CODE_PATTERN = re.compile(r"^[A-Z0-9]{4,6}$")

# First character -> modality (did-dataset.md §4.2; inferred from the code list, not from the
# NICIP->SNOMED map). Short names: they label charts and filters.
# K is not in §4.2. Its 50 codes were appended late (list positions 2037-2571) and name generic
# regions (KCHES, KABDO, KLWLB) beside cone-beam / 3D mnemonics (KCBMD, KCBNS, K3DMB, KGUIDB):
# perhaps cone-beam CT or intra-operative imaging, but nothing confirms it, so K is 'Other' rather
# than a label that could be wrong on a chart. O (photography-like: OMEDP, OTORS) is 'Other' too.
MODALITIES: dict[str, str] = {
    "X": "Plain radiography",
    "U": "Ultrasound",
    "C": "CT",
    "M": "MRI",
    "F": "Fluoroscopy",
    "N": "Nuclear medicine",
    "E": "Endoscopic",
    "I": "Interventional",
    "O": "Other",
    "K": "Other",
}
PET_PREFIX, PET_MODALITY = "NPET", "PET-CT"
_ABBREV = {
    "X": "XR",
    "U": "US",
    "C": "CT",
    "M": "MRI",
    "F": "FL",
    "N": "NM",
    "E": "Endoscopy",
    "I": "IR",
    "O": "Other",
    "K": "Other",
}

HEAD, NECK, CHEST, ABDO, PELVIS = "Head", "Neck", "Chest", "Abdomen", "Pelvis"
ABPE, CAP, MULTI = "Abdomen & pelvis", "Chest, abdomen & pelvis", "Multiple areas"
CSPINE, TSPINE, LSPINE, WSPINE = "Cervical spine", "Thoracic spine", "Lumbar spine", "Whole spine"
ULIMB, LLIMB, BREAST, HEART, VASC = "Upper limb", "Lower limb", "Breast", "Heart", "Vascular"
WHOLE, URO, THYROID = "Whole body", "Kidney & urinary tract", "Thyroid"
GI, OBS, OTHER = "Gastrointestinal tract", "Obstetric", "Other"
# Every value decode_body_area returns, in a sensible order for a filter.
BODY_AREAS: tuple[str, ...] = (
    HEAD,
    NECK,
    CHEST,
    ABDO,
    PELVIS,
    ABPE,
    CAP,
    MULTI,
    CSPINE,
    TSPINE,
    LSPINE,
    WSPINE,
    ULIMB,
    LLIMB,
    BREAST,
    HEART,
    VASC,
    WHOLE,
    URO,
    THYROID,
    GI,
    OBS,
    OTHER,
)


def _stems(area: str, *mnemonics: str) -> dict[str, str]:
    return {m: area for m in mnemonics}


# Mnemonics matched against the code *after* the modality letter (longest match wins).
# Joints are grouped under their limb; sacrum/coccyx under lumbar spine; parathyroid under thyroid;
# limb vessels (DVT scans, arterial studies) under Vascular; testes/penis/groin under Pelvis.
_STEM_AREAS: dict[str, str] = {
    **_stems(
        HEAD,
        "SK",
        "HEAD",
        "BRA",
        "IAM",
        "PIT",
        "ORB",
        "FACI",
        "FAC",
        "SIN",
        "NAS",
        "MAND",
        "MAXI",
        "TMJ",
        "JTM",
        "ZYG",
        "TEM",
        "PNS",
        "EAR",
        "EYE",
        "DENT",
        "OPG",
        "OPT",
        "TONG",
        "CRA",
        "CBMD",
        "CBMB",
        "CBNS",
        "CBFA",
        "DCG",
        "PNAS",
        "POSF",
        "POFO",
        "EAM",
        "FUNC",
        "TCR",
    ),
    **_stems(NECK, "NECK", "NECC", "LARY", "LRYN", "SAL", "SIA", "PARD", "BPX", "BRPX", "BPL", "NECP", "SCF"),
    **_stems(
        CHEST,
        "CHES",
        "CHE",
        "CHS",
        "THO",
        "THX",
        "THRX",
        "LUN",
        "LUP",
        "LUV",
        "MEDI",
        "RIB",
        "STRM",
        "BRON",
        "CHW",
        "PLEU",
        "VBRY",
        "FOBR",
        "TRBC",
        "MEDM",
    ),
    **_stems(
        ABDO,
        "ABDO",
        "ABD",
        "LIV",
        "PAN",
        "SPL",
        "GBL",
        "BIL",
        "ADR",
        "HEP",
        "MESE",
        "HER",
        "RCP",
        "MRCP",
        "ERCP",
        "LAP",
        "ULAP",
        "UPAN",
        "FILIV",
        "FIPAN",
        "PTC",
    ),
    **_stems(ABPE, "ABP"),
    **_stems(CAP, "CHAP", "TAP", "TABP", "TATP"),
    **_stems(MULTI, "HAP", "HNAP", "HNT", "HTA", "HTH", "NCA", "NCHA", "NECH", "NTA", "CHAB", "HEN"),
    **_stems(CSPINE, "CSP", "CTJ", "JCFA"),
    **_stems(TSPINE, "TSP", "THSP", "JTFA"),
    **_stems(LSPINE, "LSP", "LSS", "LSIJ", "JLFA", "SAC", "COC", "LUMP"),
    **_stems(WSPINE, "WSP", "TLSP", "TLS", "SPN", "SPI", "FISPN", "JFAC"),
    **_stems(
        ULIMB,
        "SHR",
        "SHO",
        "SCA",
        "SCP",
        "SCJ",
        "CLA",
        "ACJ",
        "UPA",
        "HUM",
        "ELB",
        "FAR",
        "WRI",
        "WRS",
        "HAN",
        "HAW",
        "HWB",
        "HWM",
        "FIN",
        "FII",
        "FIM",
        "FIR",
        "FIL",
        "THU",
        "UL",
        "UPL",
        "JEL",
        "JSH",
        "JWR",
        "JMC",
        "JDIP",
        "CMJ",
        "SUL",
    ),
    **_stems(
        LLIMB,
        "HIP",
        "FEM",
        "THI",
        "KNE",
        "PAT",
        "PATT",
        "LLE",
        "TIB",
        "CAL",
        "ANK",
        "FANK",
        "FOO",
        "FFO",
        "MFO",
        "HFO",
        "TOE",
        "ACT",
        "LOL",
        "LL",
        "LWL",
        "SES",
        "STJ",
        "SLL",
        "JAN",
        "JHI",
        "JKN",
        "JMT",
        "PLF",
        "POP",
        "QUA",
    ),
    **_stems(
        PELVIS,
        "PEL",
        "PROS",
        "HYS",
        "OVA",
        "VAG",
        "TES",
        "PEN",
        "SCR",
        "GRO",
        "INGU",
        "SIJ",
        "JSI",
        "SAI",
        "FAL",
        "BUT",
        "GRN",
        "SYM",
        "UTR",
    ),
    **_stems(
        URO,
        "KID",
        "REN",
        "URO",
        "KUB",
        "IVU",
        "BLAD",
        "URE",
        "URT",
        "CYS",
        "MCY",
        "TKI",
        "TRKI",
        "DMSA",
        "NPG",
        "URIT",
        "TRRE",
        "UDYN",
    ),
    **_stems(THYROID, "THY", "PTHY"),
    **_stems(BREAST, "MAM", "BRE", "BRS", "AXI"),
    **_stems(HEART, "CAR", "COR", "CAGA", "CAGF", "CASC", "MUGA", "TOEC", "TOEG", "TECG", "TAVI", "LAAP"),
    **_stems(
        VASC,
        "ANG",
        "AOR",
        "ART",
        "VEN",
        "AAA",
        "ALL",
        "AUL",
        "AIL",
        "ACA",
        "AIC",
        "APU",
        "ARE",
        "AME",
        "AOT",
        "AVF",
        "AVM",
        "PULV",
        "LLV",
        "ULV",
        "LLA",
        "ULA",
        "LSV",
        "SSV",
        "SVC",
        "IVC",
        "JVD",
        "BRVO",
        "LVM",
    ),
    **_stems(WHOLE, "BODW", "WBOD"),
    **_stems(
        GI,
        "COL",
        "OES",
        "UOES",
        "DUO",
        "STO",
        "GAS",
        "UGI",
        "LGI",
        "SIG",
        "PROC",
        "DEFP",
        "REC",
        "ENT",
        "SBE",
        "SBM",
        "SBT",
        "GIT",
        "VIDS",
        "VCOY",
        "VCAP",
        "PEG",
        "JEJU",
        "MECK",
        "GER",
        "GES",
        "POUC",
    ),
    **_stems(OBS, "AMNI", "ANOM", "AUMB", "FET", "FOET", "OBST"),
    # Read as something else by a shorter mnemonic above; kept out on purpose.
    **_stems(OTHER, "PATH", "SINO", "CORD", "DEX", "SIND", "FIST"),
}

# Whole-code prefixes, for modality-specific conventions (longest match; on a tie with a stem
# these win). 'CA'/'MA'/'FA' + site is angiography, 'FV'/'MV' venography, 'UD' Doppler;
# 'XM'/'UMA'/'MMA' mammography-style breast views; 'UO' obstetric ultrasound; 'NB' + site a bone
# scan; 'NBON' whole-body bone scan, 'NPET' PET-CT (eyes to thighs, so whole body).
_CODE_AREAS: dict[str, str] = {
    **_stems(VASC, "CA", "MA", "FA", "FV", "MV", "UD", "UVENE", "UVMAP"),
    **_stems(BREAST, "XM", "UMA", "UMM", "MMA", "MMB", "MMC", "MBRE", "MBRS", "MBRM", "XBRR", "UBRR", "XBRT", "XBRM"),
    **_stems(OBS, "UO", "EFETO", "ICVS"),
    **_stems(WHOLE, "NBON", "NPET", "NBWS"),
    **_stems(HEART, "NMPS", "NCMPS", "FCAR"),
    **_stems(GI, "FBA", "FWASW", "FWSEN"),
    **_stems(HEAD, "XMAND", "NBSKN", "NBRF", "XCEP", "CMST", "MCSF"),
    **_stems(LLIMB, "XACE", "MACE", "XMFO", "UMFO", "MMFO", "NBAFB", "NBFEB", "NBHIP", "NBKNB", "NBLLB"),
    **_stems(LSPINE, "NBLSP"),
    **_stems(CHEST, "NBTHX", "MMEDI"),
    **_stems(ULIMB, "NBULB"),
    **_stems(ABDO, "MMRCP", "MMESE", "ILITJ"),
    **_stems(URO, "FRET"),
    **_stems(WSPINE, "MCTSP"),
    **_stems(VASC, "MCARB"),
    **_stems(OTHER, "XMDEX", "XLDEX", "XPDEX", "XVDXA", "XDEXA", "CDEXA", "EARTH", "NCHE", "NCOCT", "NREC", "NSENT"),
}

# Codes whose body part may follow a second technique/tracer letter (NC + LIV = SPECT-CT liver,
# EF + DUO = fibreoptic duodenoscopy): read the stem from the third character too.
_TWO_LETTER_PREFIX_MODALITIES = frozenset("NE")
_NM_WHOLE_BODY_SUFFIXES = ("W", "WO")  # NGALW, NOCTW, NM131W: "whole body" in NM mnemonics


def modality(code: str) -> str | None:
    """Modality from the first character; PET-CT for codes starting NPET."""
    if code.startswith(PET_PREFIX):
        return PET_MODALITY
    return MODALITIES.get(code[:1])


def _longest(table: dict[str, str], text: str) -> tuple[int, str | None]:
    for n in range(len(text), 0, -1):
        if text[:n] in table:
            return n, table[text[:n]]
    return 0, None


def decode_body_area(code: str) -> str:
    """The body area a NICIP code's mnemonic names, or 'Other' when it is not recognised."""
    code = code.strip().upper()
    n_code, by_code = _longest(_CODE_AREAS, code)
    n_stem, by_stem = _longest(_STEM_AREAS, code[1:])
    if by_stem is not None and n_stem + 1 > n_code:
        return by_stem
    if by_code is not None:
        return by_code
    if code.startswith("N") and code.endswith(_NM_WHOLE_BODY_SUFFIXES):
        return WHOLE
    if code[:1] in _TWO_LETTER_PREFIX_MODALITIES:
        n2, by2 = _longest(_STEM_AREAS, code[2:])
        if n2 >= 3 and by2 is not None:
            return by2
    return OTHER


@dataclass(frozen=True)
class TestGroup:
    id: str
    label: str
    codes: tuple[str, ...]


# The five GP-direct-access cancer test groups (did-dataset.md §4.4 names them; the official
# definition is a SNOMED CT list). Membership is by NICIP code from the shipped list, diagnostic
# codes only: biopsy / guided variants (trailing B after a full site, e.g. CCHESB) are left out.
# CT chest-abdomen-pelvis (CCHAP, CCHAPC) counts in ct_abdo_pelvis, not ct_chest: each code has
# one group so nothing is counted twice, and a CAP scan covers the whole abdomen-pelvis field
# that the non-specific-symptoms / abdominal pathway asks for, while a lung pathway asks for CT
# chest. Plain CT abdomen and CT pelvis count there too. XCHSA/XCHSP may be chest-film variants
# but nothing confirms it, so chest_xray is XCHES alone.
TEST_GROUPS: dict[str, TestGroup] = {
    g.id: g
    for g in (
        TestGroup("chest_xray", "Chest X-ray", ("XCHES",)),
        TestGroup("ct_chest", "CT chest", ("CCHES", "CCHESC")),
        TestGroup(
            "ct_abdo_pelvis",
            "CT abdomen & pelvis",
            ("CABDO", "CABDOC", "CABPE", "CABPEC", "CPELV", "CPELVC", "CCHAP", "CCHAPC"),
        ),
        TestGroup("us_abdo_pelvis", "Ultrasound abdomen & pelvis", ("UABDO", "UABPE", "UPELV")),
        TestGroup("mri_brain", "MRI brain", ("MSKUH", "MSKUHC")),
    )
}
_GROUP_OF = {code: g.id for g in TEST_GROUPS.values() for code in g.codes}


def test_group(code: str) -> str | None:
    """The GP-direct-access test group id of a code, or None."""
    return _GROUP_OF.get(code.strip().upper())


# Typical effective dose, mSv. Source: HPA patient dose information (2008),
# https://www.gov.uk/government/publications/medical-radiation-patient-doses/patient-dose-information-guidance
# (table copied in did-dataset.md §6.2). X-ray, fluoroscopy and CT are keyed on the code after
# the modality letter, with one trailing contrast 'C' ignored (CABDOC = CABDO): there a further
# letter can change the examination (CCHESB is a CT-guided biopsy). Codes not listed get None:
# no invented values.
_DOSE_BY_STEM: dict[str, dict[str, float]] = {
    "X": {
        "CHES": 0.02,
        "SKUH": 0.07,
        "CSPN": 0.08,
        "HIPB": 0.3,
        "HIPL": 0.3,
        "HIPR": 0.3,
        "PELV": 0.7,
        "ABDO": 0.7,
        "TSPN": 0.7,
        "LSPN": 1.3,
        "IVU": 2.5,
    },
    "F": {"BASW": 1.5, "BAME": 3.0, "BAEN": 7.0},
    # CT chest-abdomen-pelvis is not in the table: ASSUMPTION, the CT abdomen/pelvis value.
    "C": {"SKUH": 2.0, "CHES": 8.0, "ABDO": 10.0, "ABPE": 10.0, "PELV": 10.0, "CHAP": 10.0},
}
# ASSUMPTION: the table gives limbs/joints as "<0.01"; we use 0.01 (the bound) for plain films
# of every upper/lower-limb code except the hip, which has its own value.
_XR_LIMB_DOSE = 0.01
# Nuclear medicine: the dose follows the radiopharmaceutical and its injected activity, not the
# field of view nor the technique the code's trailing letters add (S, O, C, W: NLUPS is NLUPE
# imaged with SPECT, NDMSAO and NDMSAC are DMSA scans), so a code takes its study's dose by
# whole-code prefix. NC + study (SPECT-CT: NCLUPE, NCDMSA, NCBONW) adds a CT dose the table has
# no row for, and never matches. HPA rows: lung perfusion (Tc-99m MAA), kidney (Tc-99m DMSA)
# and thyroid (Tc-99m) 1 mSv each; bone (Tc-99m) 4 mSv whatever region is imaged.
# ASSUMPTION: NB + site codes (NBHIP, NBKNB, ...) are bone scans.
_NM_BONE_DOSE = 4.0
_NM_BONE_PREFIXES = ("NBON", "NBWS", "NBAFB", "NBFEB", "NBHIP", "NBKNB", "NBLLB", "NBLSP", "NBSKN", "NBTHX", "NBULB")
_NM_DOSE_BY_STUDY: dict[str, float] = {
    "NLUP": 1.0,  # lung perfusion; not NLUNV / NLUVE (ventilation) nor NCHVQ
    "NDMSA": 1.0,  # kidney (DMSA); not NDMSV, whose study is not known
    "NTHY": 1.0,  # thyroid; not NPTHY (parathyroid, another tracer)
    **dict.fromkeys(_NM_BONE_PREFIXES, _NM_BONE_DOSE),
}


def dose_msv(code: str) -> float | None:
    """Typical effective dose (mSv) for the examination a code names, or None when not tabulated."""
    code = code.strip().upper()
    rest = code[1:]
    table = _DOSE_BY_STEM.get(code[:1], {})
    for key in (rest, rest[:-1] if rest.endswith("C") else None):
        if key in table:
            return table[key]
    study = next((p for p in _NM_DOSE_BY_STUDY if code.startswith(p)), None)
    if study is not None:
        return _NM_DOSE_BY_STUDY[study]
    if code.startswith("X") and decode_body_area(code) in (ULIMB, LLIMB):
        return _XR_LIMB_DOSE
    return None


def derived_description(code: str) -> str:
    """A readable label such as 'XR Chest (derived)': not the NICIP description, say so."""
    mod = modality(code)
    abbrev = PET_MODALITY if mod == PET_MODALITY else _ABBREV.get(code[:1], "")
    area = decode_body_area(code)
    what = f"procedure {code}" if area == OTHER else area
    return f"{abbrev} {what} (derived)"


def catalogue_for(codes: list[str]) -> pl.DataFrame:
    """Derived columns for a list of codes, in the order given (shared with release loading)."""
    import polars as pl  # here: the validation and rollup paths import this module for its code lists only

    return pl.DataFrame(
        {
            "nicip_code": codes,
            "modality": [modality(c) for c in codes],
            "body_area": [decode_body_area(c) for c in codes],
            "test_group": [test_group(c) for c in codes],
            "dose_msv": [dose_msv(c) for c in codes],
            "description": [derived_description(c) for c in codes],
        },
        schema={
            "nicip_code": pl.String,
            "modality": pl.String,
            "body_area": pl.String,
            "test_group": pl.String,
            "dose_msv": pl.Float64,
            "description": pl.String,
        },
    )


@functools.lru_cache(maxsize=1)
def nicip_catalogue() -> pl.DataFrame:
    """The shipped NICIP code list with derived modality, body area, test group, dose, description."""
    import polars as pl

    codes = pl.read_csv(NICIP_CSV, schema={"nicip_code": pl.String})["nicip_code"].to_list()
    return catalogue_for(codes)


# Typical scanner-room minutes per examination (patient on and off the table, scan, clean
# down): modality, body area ("*" = any other body area), minutes. ASSUMPTIONS, not from a
# published source: round figures in the range UK departments book (CT 10–20 min slots, MRI
# 20–60 min). Replace them with local booking-slot lengths on the page; they only scale the
# estimated utilisation, never the counts.
DEFAULT_DURATIONS: tuple[tuple[str, str, float], ...] = (
    ("CT", "*", 15.0),
    ("CT", "Head", 10.0),
    ("CT", "Chest, abdomen & pelvis", 20.0),
    ("CT", "Heart", 30.0),
    ("CT", "Vascular", 20.0),
    ("MRI", "*", 30.0),
    ("MRI", "Head", 30.0),
    ("MRI", "Heart", 60.0),
    ("MRI", "Abdomen", 45.0),
    ("MRI", "Pelvis", 45.0),
    ("MRI", "Whole spine", 45.0),
    ("MRI", "Breast", 40.0),
    ("PET-CT", "*", 60.0),
    ("Nuclear medicine", "*", 45.0),
    ("Ultrasound", "*", 20.0),
    ("Plain radiography", "*", 7.0),
    ("Fluoroscopy", "*", 30.0),
    ("*", "*", 20.0),
)


# Names beginning "test" would be collected by pytest wherever a test module imports them.
TestGroup.__test__ = False  # type: ignore[attr-defined]
test_group.__test__ = False  # type: ignore[attr-defined]
