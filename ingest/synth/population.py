"""Who is imaged: the practice model behind the synthetic records.

Every practice with a list size is in the model at every scale; `--scale` thins the records,
never the organisations. A practice's expected examinations a year in record class c
(modality, patient source, GP-direct-access test group) are

    E[p, c] = V_c * W[p, c] / sum_p W[p, c],
    W[p, c] = list_size_p * A[k(p), profile(c)] * imd_c(quintile_p) * u[p, group(c)]

where V_c is the national volume of the class (targets.py), A the class's age-sex rate profile
averaged over the practice's age-sex structure (its PCN's structure scaled to its list size, the
approximation architecture.md §5 names), imd_c a linear deprivation gradient and u a persistent
lognormal practice multiplier with mean 1 (over-dispersion: practices differ beyond chance).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from ingest.synth import targets as T

N_AGES = 96  # 0..95, 95 = 95+
SEXES = ("M", "F")


@dataclass(frozen=True)
class RecordClass:
    modality: str
    source: str
    group: str | None  # GPDA cancer test group, only with source 04

    @property
    def label(self) -> str:
        return f"{self.modality}/{self.source}" + (f"/{self.group}" if self.group else "")


def record_classes() -> tuple[list[RecordClass], np.ndarray]:
    """All classes and their national volume a year at scale 1.0."""
    classes, volumes = [], []
    for m in T.MODALITIES:
        groups = {g: v for g, (gm, v) in T.GPDA_TESTS.items() if gm == m}
        for s, share in zip(T.SOURCES, T.SOURCE_MIX[m], strict=True):
            v = T.ANNUAL_VOLUME[m] * share
            if s == "04":
                for g, gv in groups.items():
                    classes.append(RecordClass(m, s, g))
                    volumes.append(gv)
                v -= sum(groups.values())
                if v <= 0:
                    raise ValueError(f"GPDA test volumes exceed the {m} GP direct access volume")
            classes.append(RecordClass(m, s, None))
            volumes.append(v)
    return classes, np.array(volumes)


def age_profile(c: RecordClass) -> np.ndarray:
    """Relative rate by sex (rows M, F) and single year of age for a class (E)."""
    age = np.arange(N_AGES)
    base = np.interp(age, T.AGE_KNOTS, T.AGE_BASE)
    r = np.vstack([base, base]).copy()
    child = age < 16
    if c.modality == "XR" and c.source == "05":  # injuries: children and young adults
        r[:, age < 5] *= 1.5
        r[:, (age >= 5) & (age < 18)] *= 2.4
        r[:, (age >= 18) & (age < 30)] *= 1.3
    if c.modality == "US":  # obstetric and gynaecological scans: women of child-bearing age
        r[1, (age >= 18) & (age < 46)] *= 2.6
        r[1, (age >= 46) & (age < 50)] *= 1.6
    if c.modality == "MR":
        r[:, child] *= 0.6
        r[:, (age >= 70) & (age < 80)] *= 0.8
        r[:, age >= 80] *= 0.55
    if c.modality == "CT" and c.source in ("01", "05"):
        r[:, age >= 70] *= 1.3
    if c.modality in ("FL", "NM", "PET"):
        r[:, child] *= 0.3
    if c.source == "04":
        r[:, child] *= 0.1 if c.group else 0.4
    return r


def imd_multiplier(c: RecordClass) -> np.ndarray:
    """Rate multiplier by IMD quintile 1..5 (index 0..4) for a class."""
    for m, s, g, q1 in T.IMD_GRADIENT:
        if (m is None or m == c.modality) and (s is None or s == c.source) and (g is None or g == c.group):
            return 1.0 + (q1 - 1.0) * (4 - np.arange(5)) / 4
    return np.ones(5)


def dispersion_group(c: RecordClass) -> str:
    if c.source == "04":
        return f"T:{c.group}" if c.group else f"G:{c.modality}"
    return f"H:{c.modality}"


def practice_multipliers(rng: np.random.Generator, n: int, groups: list[str]) -> np.ndarray:
    """(n, G) persistent multipliers with mean 1: GPDA groups a two-part lognormal, others plain."""
    z = rng.standard_normal((n, len(groups)))
    distinct = rng.random(n) < T.PRACTICE_DISTINCT_SHARE  # the same practices across GPDA groups
    gp_sd = np.where(distinct, T.PRACTICE_DISTINCT_LOGSD, T.PRACTICE_TYPICAL_LOGSD)[:, None]
    other_sd = np.sqrt(np.log1p(T.PRACTICE_CV_OTHER**2))
    is_gp = np.array([g[0] in "TG" for g in groups])[None, :]
    sd = np.where(is_gp, gp_sd, other_sd)
    return np.exp(z * sd - sd * sd / 2)


@dataclass
class PracticeModel:
    practices: pl.DataFrame  # the modelled practices, in index order
    classes: list[RecordClass]
    class_volume: np.ndarray  # (C,) a year at scale 1
    expected: np.ndarray  # (P, C) a year at scale 1
    multiplier: np.ndarray  # (P, G) persistent over-dispersion multipliers
    groups: list[str]
    class_group: np.ndarray  # (C,) index into groups
    structure: np.ndarray  # (K, 2, 96) age-sex shares of each structure (PCN or fallback)
    practice_structure: np.ndarray  # (P,) index into structure
    profiles: np.ndarray  # (J, 2, 96) relative rates
    class_profile: np.ndarray  # (C,) index into profiles
    age_cdf: np.ndarray  # (K, J, 192) cumulative over sex-major cells
    _offset_cdf: np.ndarray | None = None

    def subset(self, mask: np.ndarray) -> PracticeModel:
        """The model restricted to some practices (a slice of England), expected counts unchanged:
        the practices keep the share of England's volume the national model gave them."""
        return replace(
            self,
            practices=self.practices.filter(pl.Series(mask)),
            expected=self.expected[mask],
            multiplier=self.multiplier[mask],
            practice_structure=self.practice_structure[mask],
            _offset_cdf=None,
        )

    def population_by_age_sex(self) -> np.ndarray:
        """(P, 2, 96) registered patients implied by the model (list size x structure)."""
        ls = self.practices["list_size"].to_numpy().astype(float)
        return ls[:, None, None] * self.structure[self.practice_structure]

    def sample_age_sex(self, rng: np.random.Generator, practice: np.ndarray, cls: np.ndarray):
        """Single year of age (0..95) and sex (0 M, 1 F) for records of given practice and class."""
        k = self.practice_structure[practice]
        j = self.class_profile[cls]
        row = k * self.age_cdf.shape[1] + j
        if self._offset_cdf is None:  # every row shifted by its index: one sorted array to search
            flat = self.age_cdf.reshape(-1, 2 * N_AGES)
            self._offset_cdf = (flat + np.arange(flat.shape[0])[:, None]).ravel()
        pos = np.searchsorted(self._offset_cdf, rng.random(len(practice)) + row, side="right")
        cell = np.minimum(pos - row * 2 * N_AGES, 2 * N_AGES - 1)
        return cell % N_AGES, cell // N_AGES


def _structures(practices: pl.DataFrame, population: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Age-sex shares per PCN, with sub-ICB, ICB, region and England as fallbacks."""
    pop = population.filter(pl.col("age").is_between(0, N_AGES - 1))
    levels = [("PCN", "pcn_code"), ("SUB_ICB", "sub_icb_code"), ("ICB", "icb_code"), ("REGION", "region_code")]
    keys: list[tuple[str, str]] = []
    arrays: list[np.ndarray] = []
    index: dict[tuple[str, str], int] = {}
    for org_type, _ in levels:
        sub = pop.filter(pl.col("org_type") == org_type)
        if sub.is_empty():
            continue
        sub = sub.group_by("org_code", "sex", "age").agg(pl.col("patients").sum())
        codes = sorted(sub["org_code"].unique().to_list())
        pos = {c: i for i, c in enumerate(codes)}
        arr = np.zeros((len(codes), 2, N_AGES))
        arr[
            np.array([pos[c] for c in sub["org_code"]]),
            np.where(sub["sex"].to_numpy() == "F", 1, 0),
            sub["age"].to_numpy().astype(int),
        ] = sub["patients"].to_numpy().astype(float)
        for c in codes:
            index[(org_type, c)] = len(keys)
            keys.append((org_type, c))
        arrays.append(arr)
    structure = np.concatenate(arrays) if arrays else np.zeros((0, 2, N_AGES))
    england = (
        structure[[i for i, (t, _) in enumerate(keys) if t == "REGION"]].sum(axis=0)
        if any(t == "REGION" for t, _ in keys)
        else structure.sum(axis=0)
    )
    structure = np.concatenate([structure, england[None]])
    totals = structure.sum(axis=(1, 2))
    fallback = len(structure) - 1
    chosen = np.full(practices.height, fallback)
    cols = {col: practices[col].to_list() for _, col in levels}
    for i in range(practices.height):
        for org_type, col in levels:
            j = index.get((org_type, cols[col][i]))
            if j is not None and totals[j] > 0:
                chosen[i] = j
                break
    structure = structure / np.maximum(structure.sum(axis=(1, 2), keepdims=True), 1e-12)
    return structure, chosen


def build_practice_model(practices: pl.DataFrame, population: pl.DataFrame, seed: int) -> PracticeModel:
    """The practice model for one seed (the multipliers depend on it; nothing else does)."""
    practices = practices.filter(pl.col("list_size").is_not_null() & (pl.col("list_size") > 0)).sort("practice_code")
    classes, volumes = record_classes()
    structure, practice_structure = _structures(practices, population)

    profile_keys: dict[bytes, int] = {}
    profiles: list[np.ndarray] = []
    profile_of_class: list[int] = []
    for c in classes:
        r = age_profile(c)
        key = r.tobytes()
        if key not in profile_keys:
            profile_keys[key] = len(profiles)
            profiles.append(r)
        profile_of_class.append(profile_keys[key])
    prof = np.stack(profiles)  # (J, 2, 96)
    class_profile = np.array(profile_of_class)

    weights = structure[:, None] * prof[None]  # (K, J, 2, 96)
    per_head = weights.sum(axis=(2, 3))  # (K, J)
    flat = weights.reshape(len(structure), len(prof), -1)
    age_cdf = np.cumsum(flat, axis=2) / np.maximum(flat.sum(axis=2, keepdims=True), 1e-300)
    age_cdf[..., -1] = 1.0

    groups = sorted({dispersion_group(c) for c in classes})
    class_group = np.array([groups.index(dispersion_group(c)) for c in classes])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    multiplier = practice_multipliers(rng, practices.height, groups)

    ls = practices["list_size"].to_numpy().astype(float)
    q = practices["imd_quintile"].fill_null(3).to_numpy().astype(int).clip(1, 5) - 1
    imd = np.stack([imd_multiplier(c) for c in classes])  # (C, 5)
    w = ls[:, None] * per_head[practice_structure][:, class_profile] * imd[:, q].T * multiplier[:, class_group]
    expected = volumes[None, :] * w / w.sum(axis=0, keepdims=True)
    return PracticeModel(
        practices,
        classes,
        volumes,
        expected,
        multiplier,
        groups,
        class_group,
        structure,
        practice_structure,
        prof,
        class_profile,
        age_cdf,
    )


def funnel_outside_share(
    model: PracticeModel,
    group: str = "chest_xray",
    scale: float = 1.0,
    months: int = 12,
    seed: int = 0,
    min_list: int = 750,
) -> float:
    """Share of practices outside unadjusted 99.8% Poisson funnel limits for one GPDA test.

    Simulates `months` of counts from the model's expected values (Poisson draws; no files),
    then compares each practice's crude rate per registered patient with the national rate
    using exact-Poisson-style limits by the normal approximation with continuity (Spiegelhalter
    2005, z = 3.09). Practices under `min_list` patients are left out, as in benchmarking.
    """
    cols = [i for i, c in enumerate(model.classes) if c.group == group]
    ls = model.practices["list_size"].to_numpy().astype(float)
    keep = ls >= min_list
    lam = model.expected[:, cols].sum(axis=1) * scale * months / 12
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    obs = rng.poisson(lam)[keep]
    e = ls[keep] * obs.sum() / ls[keep].sum()
    z = 3.090
    lo = e - z * np.sqrt(e)
    hi = e + z * np.sqrt(e)
    return float(np.mean((obs < lo) | (obs > hi)))
