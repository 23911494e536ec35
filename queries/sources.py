"""Where the data comes from: the reference-data notes shipped in data/reference/SOURCES.md, and
what the store says about its own records.

SOURCES.md is the one source of truth for reference-data provenance and attribution; the About
page reads it at run time rather than copying it.
"""

from __future__ import annotations

import re
from pathlib import Path

from queries.connection import Snapshot

SOURCES_FILE = Path(__file__).resolve().parent.parent / "data" / "reference" / "SOURCES.md"

_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.*)$")
_LICENCE = re.compile(r"licen[cs]e", re.IGNORECASE)


def reference_sources(path: Path | None = None) -> str | None:
    """The whole of SOURCES.md (Markdown), or None when the file is missing."""
    try:
        return Path(path or SOURCES_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def attribution_block(path: Path | None = None) -> str | None:
    """The attribution statements reference-data licences require, as Markdown.

    They are the block-quote lines (`> ...`) in the section under the licence summary heading
    (the first heading that mentions "licence") up to the next heading, returned as one
    block quote with a hard line break after each statement. None when the file or the block
    is missing.
    """
    text = reference_sources(path)
    if text is None:
        return None
    quoted: list[str] = []
    in_section = False
    for line in text.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if in_section:
                break
            in_section = bool(_LICENCE.search(heading["title"]))
            continue
        if in_section and line.startswith(">"):
            quoted.append(line.rstrip())
    return "  \n".join(quoted) if quoted else None


def is_synthetic(snap: Snapshot) -> bool:
    """True when the store's records came from the synthetic generator.

    Read from store_meta: key `synthetic`, value `true`.
    """
    return snap.meta.get("synthetic", "").strip().lower() == "true"


def synthetic_world(snap: Snapshot) -> str | None:
    """What a synthetic store describes, in words (store_meta `synthetic_world`, written at load by
    ingest/synth/world.py): '' for a synthetic store that does not say, None for real data."""
    return snap.meta.get("synthetic_world", "").strip() if is_synthetic(snap) else None


def demo_examples(snap: Snapshot, preferred: dict[str, str]) -> dict[str, str]:
    """Codes demo mode starts each role on: `preferred` (role -> code) where the store knows the
    code, otherwise one it does know — the typical practice (median list size) and its ICB, the
    provider with the most imaging sites — so a slice of England opens on its own organisations."""
    from queries.connection import has_tables

    if not (has_tables(snap, "ref_practice") and has_tables(snap, "ref_site")):
        return dict(preferred)
    typical = snap.query(
        """
        SELECT practice_code, icb_code FROM ref_practice
        WHERE list_size >= (SELECT quantile_disc(list_size, 0.5) FROM ref_practice)
        ORDER BY list_size, practice_code LIMIT 1
        """
    )
    busiest = snap.query("SELECT provider_code FROM ref_site GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    known = {
        "gp": snap.query("SELECT practice_code AS code FROM ref_practice")["code"],
        "commissioner": snap.query("SELECT DISTINCT icb_code AS code FROM ref_practice")["code"],
        "provider": snap.query("SELECT DISTINCT provider_code AS code FROM ref_site")["code"],
    }
    fallback = {
        "gp": typical["practice_code"],
        "commissioner": typical["icb_code"],
        "provider": busiest["provider_code"],
    }
    out = dict(preferred)
    for role, code in preferred.items():
        if role in known and not known[role].is_in([code]).any() and fallback[role].len():
            out[role] = fallback[role][0]
    return out
