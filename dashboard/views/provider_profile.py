"""Provider profile: one provider's pack against its peers and England, for accreditation and
inspection — to read here, print, or download as PDF, HTML or a workbook."""

from __future__ import annotations

import streamlit as st

from dashboard.caching import cached
from dashboard.components import formatting as fmt
from dashboard.components.store import snapshot_or_stop
from dashboard.components.user import current_scope
from queries import headline, profile, reports
from queries.reports.provider_profile import page_pack, pdf_from_html

st.title("Provider profile")
st.caption(
    "One imaging provider's activity, waits, report turnaround, scanners, submissions, data quality and "
    "radiation dose, each beside its peers (the 10 providers most like it in size and mix of tests) and "
    "England: the pack an accreditation assessor or an inspector asks for. The same pack prints, and "
    "downloads as PDF, web page or workbook."
)

snap = snapshot_or_stop()
scope = current_scope()
if scope.role == "commissioner":
    st.caption(
        f"As a commissioner you may open the profile of each provider for whom your registered patients made "
        f"up at least {profile.COMMISSIONER_SHARE:.0%} of its examinations in the latest 12 months, and see it "
        "as that provider's own staff do: small numbers hidden, others rounded."
    )

names = cached(profile.profile_providers)(snap, scope)
held = cached(profile.activity_months)(snap)
if names.is_empty() or not held:
    st.info(
        "None of the providers in this store imaged enough of your registered patients for you to open "
        "its profile. Who imaged your patients is on the Patient flows page."
        if scope.role == "commissioner"
        else "Your account is linked to no provider with examinations in this store."
    )
    st.stop()

codes = names["provider_code"].to_list()
labels = dict(names.iter_rows())
wanted = st.query_params.get("provider")
c1, c2, c3 = st.columns([2, 1, 1])
provider = c1.selectbox(
    "Provider",
    codes,
    index=codes.index(wanted) if wanted in codes else 0,
    format_func=lambda c: f"{c} — {labels.get(c, c)}",
    key="profile_provider",
)
latest = cached(headline.latest_complete_month)(snap)
newest_first = list(reversed(held))
last = c2.selectbox(
    "Last month",
    newest_first,
    index=newest_first.index(latest) if latest in newest_first else 0,
    format_func=fmt.month,
    key="profile_last",
)
months = c3.selectbox("Months", [3, 6, 12, 24], index=2)
st.query_params["provider"] = provider

output, block = cached(page_pack, max_entries=16)(snap, scope, provider, last, months, pdf=False)
stem = f"provider-profile_{last:%Y-%m}_{provider}"
d1, d2, d3 = st.columns(3)
html = output.documents["html"].decode("utf-8")
# The PDF and the workbook are made when their button is pressed (Streamlit runs a callable then):
# printing the pack to PDF takes longer than building its figures.
d1.download_button(
    "Download PDF",
    lambda: pdf_from_html(html),
    file_name=f"{stem}.pdf",
    mime="application/pdf",
    icon=":material/download:",
)
d2.download_button(
    "Download web page (HTML)",
    output.documents["html"],
    file_name=f"{stem}.html",
    mime="text/html",
    icon=":material/download:",
)
d3.download_button(
    "Download workbook (.xlsx)",
    lambda: reports.workbook_bytes(output, stem),
    file_name=f"{stem}.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    icon=":material/download:",
)
st.html(block)
