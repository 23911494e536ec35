"""Submissions and their issue reports, for the provider who sent them and the central team."""

from __future__ import annotations

import polars as pl

from did_model.scope import Scope, ScopeError
from queries.connection import Snapshot


def providers(snap: Snapshot, scope: Scope) -> pl.DataFrame:
    """Providers this user may submit for or inspect: code and name (trusts and sites' providers)."""
    frame = snap.query(
        """
        SELECT provider_code, any_value(provider_name) AS provider_name FROM (
            SELECT provider_code, provider_name FROM ref_trust
            UNION ALL SELECT provider_code, provider_name FROM ref_site
            UNION ALL SELECT provider_code, NULL FROM submission
        ) GROUP BY provider_code ORDER BY provider_code
        """
    )
    visible = scope.visible_providers()
    return frame if visible is None else frame.filter(pl.col("provider_code").is_in(visible))


def history(snap: Snapshot, scope: Scope, provider: str) -> pl.DataFrame:
    """Every file the provider sent, newest first: period, when, verdict, timeliness and counts."""
    scope.check_provider(provider)
    return snap.query(
        """
        SELECT submission_id, strftime(period, '%Y-%m') AS period, received_at, submitted_on, file_name, format,
               status, timeliness, rows_read, rows_accepted, rows_rejected, rows_with_warnings, rows_replaced,
               superseded_by
        FROM submission WHERE provider_code = $provider
        ORDER BY submission_id DESC
        """,
        {"provider": provider.upper()},
    )


def issues(snap: Snapshot, scope: Scope, submission_id: int, limit: int | None = None) -> pl.DataFrame:
    """The issue report of one submission (line, DIDS code, severity, field, message), in line order."""
    owner = snap.query("SELECT provider_code FROM submission WHERE submission_id = $id", {"id": submission_id})
    if owner.is_empty():
        raise ScopeError(f"there is no submission {submission_id}")
    scope.check_provider(owner["provider_code"][0])
    return snap.query(
        """
        SELECT line, code, severity, field, message FROM issue WHERE submission_id = $id
        ORDER BY line NULLS FIRST, code LIMIT coalesce($limit, 9223372036854775807)
        """,
        {"id": submission_id, "limit": limit},
    )


def issue_summary(snap: Snapshot, scope: Scope, submission_id: int) -> pl.DataFrame:
    """Issues of one submission counted by DIDS code: code, severity, field, records."""
    issues(snap, scope, submission_id, limit=0)  # scope check
    return snap.query(
        """
        SELECT code, severity, field, count(*) AS records FROM issue WHERE submission_id = $id
        GROUP BY ALL ORDER BY records DESC, code
        """,
        {"id": submission_id},
    )


def local_codes(snap: Snapshot, scope: Scope, provider: str) -> pl.DataFrame:
    """The provider's notified local codes and the national NICIP code each loads as."""
    scope.check_provider(provider)
    return snap.query(
        """
        SELECT l.local_code, l.nicip_code, n.modality, n.body_area, n.description, l.notified_at, l.notified_by
        FROM local_code l LEFT JOIN ref_nicip n USING (nicip_code)
        WHERE l.provider_code = $provider ORDER BY l.local_code
        """,
        {"provider": provider.upper()},
    )


def nicip_codes(snap: Snapshot) -> pl.DataFrame:
    """National NICIP codes with modality, body area and description (reference data, not scoped)."""
    return snap.query("SELECT nicip_code, modality, body_area, description FROM ref_nicip ORDER BY nicip_code")
