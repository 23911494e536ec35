"""Who images them: providers, their imaging sites and scanners, and patient routing.

Providers are the acute trusts of the shipped catchment lookup (P) plus a handful of synthetic
independent-sector providers, `NX1`..`NX6`, one per region, clearly named "Synthetic
Independent Imaging ...". A patient is imaged by a trust serving their practice's ICB (2022
geography): the trust's catchment share for that ICB, normalised over the trusts serving the
ICB. In a region with an independent provider it takes `IS_SHARE` of the outpatient and GP
direct-access CT, MRI and ultrasound, referred by the trust that would otherwise have done it.

Sites are `<provider code><2 digits>`, 1-8 per provider; the scanner inventory (about 570 CT and
490 MRI, calibration.md) is shared among providers by their expected CT/MRI volume and does not
scale with `--scale`. For a slice of England (world.py) only the trusts with a flow from the
area's ICBs take part, and each provider's scanners and scheduled hours are what England's
inventory gives its activity from the area (`_scanners`), so scanners do England's work per head. CT and MRI records
are only made at sites that hold that kind of scanner.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ingest.synth import targets as T
from ingest.synth.population import PracticeModel
from ingest.synth.world import MIN_FLOW_SHARE

N_INDEPENDENT = 6
IS_SHARE = 0.05
IS_MODALITIES = ("CT", "MR", "US")
IS_SOURCES = ("03", "04")
ACUTE_SOURCES = ("01", "05")  # seen at the acute sites (with an emergency department)


def serving(catchment: pl.DataFrame, icb22: list[str]) -> pl.DataFrame:
    """The catchment flows from some ICBs (2022 codes) that carry at least MIN_FLOW_SHARE of an
    ICB's patients: the trusts that serve a slice of England."""
    flows = catchment.filter(pl.col("icb22_ons").is_in(icb22))
    return flows.filter(pl.col("share") / pl.col("share").sum().over("icb22_ons") >= MIN_FLOW_SHARE)


@dataclass
class ProviderModel:
    providers: pl.DataFrame  # provider_code, provider_name, provider_type, region_code, lat, lon
    sites: pl.DataFrame  # sites.csv rows, plus provider index and site size weight
    equipment: pl.DataFrame  # equipment.csv rows
    cell_of_practice: np.ndarray  # (P,) routing cell (ICB22 x region)
    nhs_cdf: np.ndarray  # (cells, T) cumulative P(trust | cell)
    is_of_cell: np.ndarray  # (cells,) independent provider index or -1
    is_class: np.ndarray  # (C,) bool: class eligible for independent providers
    site_cdf: dict[tuple[int, str, bool], tuple[np.ndarray, np.ndarray]]  # (provider, modality, acute)
    expected_volume: np.ndarray  # (providers,) a year at scale 1

    @property
    def codes(self) -> list[str]:
        return self.providers["provider_code"].to_list()


def _route(model: PracticeModel, trusts: pl.DataFrame, catchment: pl.DataFrame, regions: list[str]):
    codes = trusts["provider_code"].to_list()
    tpos = {c: i for i, c in enumerate(codes)}
    pr = model.practices
    icb = pr["icb22_ons"].fill_null("").to_list()
    reg = pr["region_code"].fill_null("").to_list()
    cells = sorted(set(zip(icb, reg, strict=True)))
    cpos = {c: i for i, c in enumerate(cells)}
    cell_of_practice = np.array([cpos[c] for c in zip(icb, reg, strict=True)])
    share = np.zeros((len(cells), len(codes)))
    cat = catchment.filter(pl.col("provider_code").is_in(codes))
    by_icb: dict[str, list[tuple[int, float]]] = {}
    for t, i, s in cat.select("provider_code", "icb22_ons", "share").iter_rows():
        by_icb.setdefault(i, []).append((tpos[t], s))
    trust_region = trusts["region_code"].to_list()
    for ci, (i, r) in enumerate(cells):
        for t, s in by_icb.get(i, []):
            share[ci, t] += s
        if share[ci].sum() == 0:  # an ICB the lookup does not cover: the region's trusts
            share[ci] = [1.0 if tr == r else 0.0 for tr in trust_region]
        if share[ci].sum() == 0:
            share[ci] = 1.0
    nhs_cdf = np.cumsum(share / share.sum(axis=1, keepdims=True), axis=1)
    nhs_cdf[:, -1] = 1.0
    is_of_cell = np.array([len(codes) + regions.index(r) if r in regions else -1 for _, r in cells])
    return cell_of_practice, nhs_cdf, is_of_cell, share / share.sum(axis=1, keepdims=True)


def _allocate(total: int, weights: np.ndarray, minimum: int = 1) -> np.ndarray:
    """Integer shares of `total` proportional to weights, each at least `minimum` (largest remainder)."""
    raw = total * weights / weights.sum()
    k = np.maximum(np.floor(raw).astype(int), minimum)
    while k.sum() < total:
        k[np.argmax(raw - k)] += 1
    while k.sum() > total:
        k[np.argmax(np.where(k > minimum, k - raw, -np.inf))] -= 1
    return k


def _scanners(england: int, volume: np.ndarray, national: float) -> tuple[np.ndarray, np.ndarray]:
    """Scanners of one modality per provider, and the share of their scheduled hours it keeps.

    England (the providers' volumes add up to the national one): the inventory shared by volume,
    at least one each, every hour kept. A slice: the inventory England would give each provider's
    activity from the area, as whole scanners (at least one) whose scheduled hours are cut to the
    fraction used for the area — a trust that takes 3% of its patients from the area holds one
    scanner scheduled for a few hours, not a whole idle one."""
    if volume.sum() >= 0.999 * national:
        return _allocate(england, volume), np.ones(len(volume))
    wanted = england * volume / national
    whole = np.maximum(np.round(wanted), 1)
    return whole.astype(int), wanted / whole


def build_provider_model(
    model: PracticeModel, trusts: pl.DataFrame, catchment: pl.DataFrame, seed: int
) -> ProviderModel:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 5]))
    trusts = trusts.sort("provider_code")
    pr = model.practices
    by_region = (
        pr.group_by("region_code", "region_name")
        .agg(pl.col("list_size").sum())
        .drop_nulls("region_code")
        .sort(["list_size", "region_code"], descending=[True, False])
    )
    regions = by_region["region_code"].to_list()[:N_INDEPENDENT]
    region_name = dict(by_region.select("region_code", "region_name").iter_rows())
    cell_of_practice, nhs_cdf, is_of_cell, route = _route(model, trusts, catchment, regions)

    n_trust = trusts.height
    n_prov = n_trust + len(regions)
    is_class = np.array([c.modality in IS_MODALITIES and c.source in IS_SOURCES for c in model.classes])

    # expected volume by provider and modality at scale 1
    cells = route.shape[0]
    e_cell = np.zeros((cells, len(model.classes)))
    np.add.at(e_cell, cell_of_practice, model.expected)
    vol = np.zeros((n_prov, len(model.classes)))
    has_is = is_of_cell >= 0
    for c in range(len(model.classes)):
        take = np.where(has_is & is_class[c], IS_SHARE, 0.0)
        vol[:n_trust, c] = ((1 - take) * e_cell[:, c]) @ route
        np.add.at(vol[:, c], is_of_cell[has_is], take[has_is] * e_cell[has_is, c])
    mod_of_class = np.array([c.modality for c in model.classes])
    vol_mod = {m: vol[:, mod_of_class == m].sum(axis=1) for m in T.MODALITIES}
    national = {m: model.class_volume[mod_of_class == m].sum() for m in T.MODALITIES}
    total = vol.sum(axis=1)

    rows = [
        dict(
            provider_code=code,
            provider_name=name,
            provider_type="NHS trust",
            region_code=rc,
            latitude=lat,
            longitude=lon,
        )
        for code, name, rc, lat, lon in trusts.select(
            "provider_code", "provider_name", "region_code", "latitude", "longitude"
        ).iter_rows()
    ]
    for k, rc in enumerate(regions):
        members = trusts.filter(pl.col("region_code") == rc)
        lat = members["latitude"].mean() if members.height else 52.5
        lon = members["longitude"].mean() if members.height else -1.5
        rows.append(
            dict(
                provider_code=f"NX{k + 1}",
                provider_name=f"Synthetic Independent Imaging {str(region_name[rc]).title()}",
                provider_type="Independent sector",
                region_code=rc,
                latitude=lat,
                longitude=lon,
            )
        )
    providers = pl.DataFrame(rows)

    # sites: bigger providers have more; the first site is the main (acute) hospital
    med = np.median(total[:n_trust])
    n_sites = np.where(
        np.arange(n_prov) < n_trust,
        np.clip(np.round(total / med * 2.5 + rng.normal(0, 0.7, n_prov)), 1, 8),
        rng.integers(1, 4, n_prov),
    ).astype(int)
    (ct, ct_hours), (mr, mr_hours) = (_scanners(T.SCANNERS[m], vol_mod[m], national[m]) for m in ("CT", "MR"))
    site_rows, equip_rows = [], []
    site_cdf: dict[tuple[int, str, bool], tuple[np.ndarray, np.ndarray]] = {}
    for t in range(n_prov):
        p = rows[t]
        ns = n_sites[t]
        codes = [f"{p['provider_code']}{i + 1:02d}" for i in range(ns)]
        size = np.concatenate([[1.0], rng.uniform(0.15, 0.5, ns - 1)]) if t < n_trust else np.ones(ns)
        acute = np.zeros(ns, bool)
        acute[0] = t < n_trust
        if t < n_trust and ns >= 4:
            acute[1] = True
        scanners = {}
        # Scheduled hours per scanner per week (E): England's ~4.6 M MRI a year on ~490 scanners
        # is ~26 a day each at ~30 min, i.e. 80-100 h a week; CT outside the acute site 70-90 h,
        # the acute site's CT runs round the clock.
        for mod, k, hours, part in (("CT", ct[t], (70, 91), ct_hours[t]), ("MR", mr[t], (80, 101), mr_hours[t])):
            holders = min(ns, max(1, int(np.ceil(k / (2 if mod == "CT" else 2.5)))))
            if t >= n_trust:
                holders = min(ns, k)
            per = np.zeros(ns, int)
            for i in range(k):
                per[i % holders] += 1
            scanners[mod] = per
            for i in range(ns):
                if per[i]:
                    h = 168 if (mod == "CT" and acute[i]) else int(rng.integers(*hours))
                    equip_rows.append(
                        dict(
                            site_code=codes[i],
                            modality="MRI" if mod == "MR" else "CT",
                            scanners=int(per[i]),
                            scheduled_hours_per_week=int(min(per[i] * 168, max(1, round(per[i] * h * part)))),
                            synthetic=True,
                        )
                    )
        for i in range(ns):
            jitter = rng.normal(0, 0.05, 2) if i else np.zeros(2)
            site_rows.append(
                dict(
                    site_code=codes[i],
                    provider_code=p["provider_code"],
                    site_name=f"{p['provider_name']} imaging site {i + 1:02d}",
                    provider_name=p["provider_name"],
                    provider_type=p["provider_type"],
                    synthetic=True,
                    latitude=round(p["latitude"] + jitter[0], 5),
                    longitude=round(p["longitude"] + jitter[1], 5),
                )
            )
        code_arr = np.array(codes, dtype=object)
        for mod in T.MODALITIES:
            for is_acute in (False, True):
                w = scanners[mod].astype(float) if mod in scanners else size.copy()
                if is_acute and (w * acute).sum() > 0:
                    w = w * acute
                if w.sum() == 0:
                    w = np.eye(ns)[0]
                site_cdf[(t, mod, is_acute)] = (code_arr, np.cumsum(w) / w.sum())
    sites = pl.DataFrame(site_rows)
    equipment = pl.DataFrame(equip_rows)
    return ProviderModel(providers, sites, equipment, cell_of_practice, nhs_cdf, is_of_cell, is_class, site_cdf, total)


def route_records(
    pm: ProviderModel, rng: np.random.Generator, practice: np.ndarray, cls: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Provider index and referring trust index for each record."""
    cell = pm.cell_of_practice[practice]
    n_t = pm.nhs_cdf.shape[1]
    flat = (pm.nhs_cdf + np.arange(pm.nhs_cdf.shape[0])[:, None]).ravel()
    pos = np.searchsorted(flat, rng.random(len(cell)) + cell, side="right")
    trust = np.minimum(pos - cell * n_t, n_t - 1)
    is_p = pm.is_of_cell[cell]
    to_is = pm.is_class[cls] & (is_p >= 0) & (rng.random(len(cell)) < IS_SHARE)
    return np.where(to_is, is_p, trust), trust
