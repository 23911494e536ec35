"""Submit: a provider uploads its monthly extract and gets the DID's verdict on every record."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from dashboard.components import formatting as fmt
from dashboard.components.glossary import for_data_manager, plural, table_config
from dashboard.components.store import snapshot_or_none
from dashboard.components.user import current_scope
from did_model.frames import each
from did_model.layout import StoreError
from did_model.scope import ScopeError
from ingest import reference
from ingest.submit import MAX_UPLOAD_BYTES, submit_bytes
from queries import submissions
from queries.exports import to_csv_bytes

SHOWN_ISSUES = 200

st.title("Submit a monthly extract")
st.caption(
    "Upload a monthly extract: DIDS v2.0 for months from 2026-05 (April 2026 activity; CSV with a "
    'header row of item names, or DIDS XML with `version="2.0"`), DIDS v1.0 before (CSV with or '
    "without a header row, or DIDS XML). **Check** judges "
    "every record against the DIDS rules of its version without loading anything; **Submit** loads the accepted "
    "records. A new file for the same provider and month replaces the earlier one; a record sent "
    "again (same site and accession number) replaces its earlier version, so nothing is counted twice."
)

scope = current_scope()
snap = snapshot_or_none()
# Whom a file is for comes from who the user is: a provider user sends its own providers' files
# (ingest.submit checks it again), only the central team picks any provider.
if scope.is_central and snap is not None:
    choices = submissions.providers(snap, scope)
else:  # the user's own providers, or (central, no store yet) the reference list of providers
    choices = reference.trusts().select("provider_code", "provider_name")
    if not scope.is_central:
        own = sorted(scope.providers) if scope.role == "provider" else []
        choices = pl.DataFrame({"provider_code": own}).join(choices, on="provider_code", how="left")
labels = {
    r["provider_code"]: f"{r['provider_code']} — {r['provider_name'] or 'provider'}"
    for r in choices.iter_rows(named=True)
}
if not labels:
    st.warning("You are not registered as a submitter for any provider.")
    st.stop()

left, middle, right = st.columns(3)
provider = left.selectbox("Provider", list(labels), format_func=lambda code: labels[code], key="provider")
assert provider is not None  # there is at least one to choose
today = date.today()
period = middle.text_input(
    "Submission month (YYYY-MM)",
    value=f"{today:%Y-%m}",
    key="period",
    help="The month the file is sent: normally the month after the activity it reports.",
)
if scope.is_central:  # re-checking an old file: audited, never in the future
    submitted_on: date | None = right.date_input(
        "Submission date",
        value=today,
        max_value=today,
        key="submitted_on",
        help="The date the rules and timeliness count from: today, the day the file "
        "arrives, unless you are re-checking an old file (audited).",
    )
else:
    submitted_on = None  # the day the file arrives
    right.text_input(
        "Submission date",
        value=f"{today:%Y-%m-%d}",
        disabled=True,
        key="submitted_on_shown",
        help="The day the file arrives: the rules and timeliness count from it.",
    )

uploaded = st.file_uploader(
    "DID extract", type=["csv", "xml", "txt"], key="uploader", max_upload_size=MAX_UPLOAD_BYTES // (1024 * 1024)
)
if uploaded is not None:
    st.session_state["upload"] = (uploaded.name, uploaded.getvalue())
upload = st.session_state.get("upload")

check_col, submit_col = st.columns(2)
check = check_col.button("Check the file", disabled=upload is None, width="stretch")
submit = submit_col.button("Submit", type="primary", disabled=upload is None, width="stretch")


def show_verdict(result, dry_run: bool, publishing: bool = False) -> None:
    """The file's verdict: rejected as a whole, or accepted with its counts and (once published,
    or for a check) its issues. `publishing`: loaded, the publish still running."""
    c = result.counts
    if result.status == "rejected":
        st.error(
            f"**{result.file} was rejected as a whole.** "
            + " ".join(for_data_manager(e["message"]) for e in result.file_errors)
            + " Nothing from it was loaded: correct the file and send it again.",
            icon=":material/block:",
        )
        return
    verb = "would be accepted" if dry_run else "was accepted"
    then = " Publishing it for the dashboard now (the steps are below); the issues follow." if publishing else ""
    st.success(
        f"**{result.file} {verb}** for {result.provider}, {result.period} "
        f"({'on time' if result.timeliness == 'on_time' else 'late'}).{then}",
        icon=":material/check_circle:",
    )
    cols = st.columns(5)
    cols[0].metric("Records", fmt.count(c["records"]))
    cols[1].metric("Accepted", fmt.count(c["accepted"]))
    cols[2].metric("Rejected", fmt.count(c["rejected"]))
    cols[3].metric("With warnings", fmt.count(c["with_warnings"]))
    cols[4].metric("Replaced earlier versions", fmt.count(c.get("replaced", 0)))
    if publishing:
        return
    issues = pl.DataFrame(
        result.issues,
        schema={
            "line": pl.Int64,
            "code": pl.String,
            "severity": pl.String,
            "field": pl.String,
            "message": pl.String,
        },
    )
    issues = issues.with_columns(each(issues["message"], for_data_manager))
    if result.issues_total:
        st.subheader("Issues")
        st.caption(
            f"{plural(result.issues_total, 'issue')} in all; the first "
            f"{min(SHOWN_ISSUES, result.issues_total):,} are shown. The line is the line in the file "
            "(header counted) or the record number in an XML file. Rejected records are kept as sent "
            "in quarantine, outside this dashboard (which shows no patient identifier), for the "
            "central team to trace with you; they are purged after the retention period."
        )
        st.dataframe(issues.head(SHOWN_ISSUES), hide_index=True, width="stretch", column_config=table_config(issues))
        st.download_button(
            "Download the full issue report (CSV)",
            to_csv_bytes(issues),
            file_name=f"issues_{result.provider}_{result.period}.csv",
            mime="text/csv",
        )
    else:
        st.caption("No issues: every record passed every rule.")


# The verdict sits above the steps: it is shown as soon as the file is loaded, while the
# snapshot the dashboard reads is still being published (seconds at national scale).
verdict_slot = st.empty()
if (check or submit) and upload is not None:
    name, data = upload

    def loaded(result) -> None:
        with verdict_slot.container():
            show_verdict(result, dry_run=False, publishing=result.status != "rejected")

    # Each step of the check, the load and the publish as it starts: a large file takes seconds.
    with st.status("Submitting the file…" if submit else "Checking the file…", expanded=True) as progress:
        try:
            result = submit_bytes(
                data,
                name,
                provider,
                period,
                submitted_on,
                scope=scope,
                dry_run=not submit,
                issue_limit=10_000_000,
                progress=lambda step: progress.write(step[:1].upper() + step[1:]),
                verdict=loaded,
            )
        except (ValueError, StoreError) as err:  # refused, or not published (and so not loaded)
            verdict_slot.empty()
            progress.update(label="Not loaded", state="error")
            st.error(str(err))
            st.stop()
        done = "Published: the dashboard shows it now" if submit and result.status != "rejected" else "Checked"
        progress.update(label=done, state="complete", expanded=False)
    st.session_state["result"] = (result, not submit)

if "result" in st.session_state:
    with verdict_slot.container():
        show_verdict(*st.session_state["result"])

if snap is not None:
    st.subheader(f"Submission history — {provider}")
    try:
        hist = submissions.history(snap, scope, provider)
    except ScopeError as err:
        st.error(str(err))
        st.stop()
    if hist.is_empty():
        st.caption("No files received yet.")
    else:
        st.dataframe(
            hist.with_columns(pl.col("timeliness").replace({"on_time": "on time"})),
            hide_index=True,
            width="stretch",
            column_config=table_config(hist, period=st.column_config.TextColumn("Submission month")),
        )
