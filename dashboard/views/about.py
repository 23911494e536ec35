"""About the data: what the DID is, how the data flows, and where everything comes from.

The public page: it works whether or not a store has been published.
"""

from __future__ import annotations

import streamlit as st

from dashboard.components.store import snapshot_or_none
from queries import sources

st.title("About the data")

st.markdown(
    """
The **Diagnostic Imaging Dataset (DID)** is NHS England's national collection of imaging
examinations. Every provider of NHS-funded imaging in England sends a monthly extract from its
Radiology Information System: one record per examination, 18 data items — who was imaged (in
pseudonymised form), who asked for the test, which test (NICIP or SNOMED CT code), where, and
the dates of request, test and report. It was set up to monitor GP direct access to tests that
help diagnose cancer early, and it also describes imaging activity, waiting times and
turnaround across England.
"""
)

snap = snapshot_or_none()
if snap is None:
    st.info("No store has been published yet, so the other pages have no figures to show.")
elif sources.is_synthetic(snap):
    st.warning(
        "**The records in this store are synthetic.** They were made by the project's "
        "generator to look like real provider extracts; they describe no real patients and no "
        "real activity. Reference data (organisations, populations, deprivation) is real.",
        icon=":material/science:",
    )

st.subheader("How the data flows")
st.markdown(
    """
1. A provider sends a monthly RIS extract (CSV or XML, DID v1.0) for a **submission period**
   — normally the month after the activity it reports.
2. The file is checked against the DID validation rules. Records that fail are rejected with a
   reason; the rest are accepted. A newer file for the same period replaces the earlier one, and
   a record sent again (late data, a correction) replaces its earlier version — nothing is
   counted twice.
3. On loading, patient identifiers are removed: the NHS number becomes a keyed pseudonym, the
   birth date becomes age at test, the postcode becomes its district.
4. After each load the store is published as a read-only snapshot. These pages read the latest
   snapshot and count examinations by **activity month**, the month of the test date.
"""
)

st.subheader("How small numbers are protected")
st.markdown(
    r"""
Everyone but NHS England's central data team sees protected figures, so that no page or
download can be used to work out a small number of patients:

- **A little fixed noise first.** Every count is moved by at most 2 either way before any rate,
  share, interval or comparison is worked out from it. The same count always gets the same
  noise, so asking again — on another page, for another area, in a download — tells nothing new,
  and subtracting one figure from another (a total minus its parts, an area minus its smaller
  areas) leaves the noise in. This is the method the Office for National Statistics used for the
  2021 Census.
- **Then small counts hidden.** A count of 1 to 7 is shown as **\***, and so is every figure that
  comes with it (its rate, interval, comparison and rank); such rows are listed last. Other counts
  are rounded to the nearest 5. A 0 is shown as 0. An empty cell means a figure was not worked out
  (for example, a rate from fewer than 10 events), not that it was hidden.
- **Practices not named stay anonymous.** A practice you are not responsible for is "Another
  practice", showing only its ICB, a list-size band and a deprivation quintile, and never a
  combination that fewer than 5 practices share.

Because of the noise, parts need not add up exactly to their total, and a comparison close to a
limit may differ slightly from the central team's exact one.
"""
)

st.subheader("Reference data")
st.markdown(
    "Organisations and their hierarchy, registered populations, deprivation and geography come "
    "from public sources: NHS England's Organisation Data Service and GP registration "
    "statistics (formerly NHS Digital), the Office for National Statistics, the English "
    "Indices of Deprivation and OHID Fingertips. They are published under the Open Government "
    "Licence v3.0, which asks for this attribution:"
)
attribution = sources.attribution_block()
if attribution:
    st.markdown(attribution)
else:
    st.warning(
        "The attribution statements could not be read. The sources and licences of the reference "
        "data are listed in the project's reference data notes."
    )
full_sources = sources.reference_sources()
if full_sources:
    with st.expander("All reference data sources"):
        st.markdown(full_sources)

st.subheader("Imaging codes (NICIP)")
st.markdown(
    """
Examinations are coded with NICIP (the National Interim Clinical Imaging Procedure code set,
published by NHS England through TRUD) or SNOMED CT. **The NICIP code list shipped with this
project is not covered by the Open Government Licence, and its licence has not been verified.**
It is a list of codes only — no descriptions, SNOMED CT map or active dates — obtained from the
public GitHub repository timgentry/dids-on-fhir, and is used for validation and lookups only.
Each code's modality, body area and GP-direct-access test group are inferred from the code's
letters, not taken from the official NICIP→SNOMED CT mapping, so modality figures here may
differ from official DID statistics. The central data team can replace the list with an official NICIP release.

NICIP (National Interim Clinical Imaging Procedure) codes © NHS England.
"""
)
