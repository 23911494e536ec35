"""Plain-English explanations shown next to the GP benchmarking charts (one place, so both pages
say the same thing and the tests can find it)."""

from __future__ import annotations

from queries.gp_benchmark import APPROXIMATION, MIN_EVENTS, MIN_LIST_SIZE
from queries.measures import Measure

FUNNEL = (
    "**Reading the funnel.** Each mark is a practice. Across the bottom is how much we would "
    "expect to see at that practice (its size, and for rates its patients' ages and sexes); up "
    "the side is its value. The horizontal line is England. The curved lines show how far from "
    "England a practice could land **by chance alone**: 95% of practices should sit inside the "
    "dashed lines and 99.8% inside the solid ones. Small practices have wide limits, because a few "
    "examinations either way move their rate a lot. "
    "**Outside the limits is a prompt to look, not a verdict**: it can reflect the practice's "
    "patients, local access to imaging, how a provider records the request, or chance (with "
    "thousands of practices, a few land outside 99.8% limits by chance)."
)
OVERDISPERSION = (
    "**Allowing for real differences between practices.** Practices differ for reasons no "
    "benchmark can see. With the adjustment on (the default, Spiegelhalter 2005), the limits are "
    "widened by the spread between practices seen across England, so only practices unusual even "
    "after that are flagged. Turn it off to see chance alone."
)
SPINE = (
    "**Reading the spine chart.** One row per measure. England is the line in the middle. The "
    "light bar runs from the lowest to the highest practice in England and the darker bar covers "
    "the middle half of practices. The marker is this practice: its shape and colour say whether "
    "it is higher or lower than expected, in words in the legend and the table below. Each row has "
    "its own scale, so compare a marker with its own row only."
)
TREND = (
    "**Reading the trend.** The thick line is this practice (or its PCN, sub-ICB or ICB) month by "
    "month; the dotted lines are England's deciles — a tenth of organisations at that level lie "
    "between each pair — and the solid blue line is the median. Monthly values for a single "
    "practice jump about: look at the pattern over several months. Rates here are crude (not "
    "age-sex standardised) so they compare like with like across organisations."
)
EXCLUSIONS = (
    f"Practices with fewer than {MIN_LIST_SIZE:,} registered patients are left out, as in the "
    f"national GP profiles. A practice with fewer than {MIN_EVENTS} events (or {MIN_EVENTS} "
    "examinations in a share's denominator) shows no interval: the figure would be too uncertain "
    "to mean anything. " + APPROXIMATION
)
DISCLOSURE = ("To protect patients, every count has a little fixed noise added before anything is "
              "worked out from it; counts of 1–7 are then not shown (*), with every figure that comes "
              "with them, and the rest are rounded to the nearest 5. Other practices appear unnamed, "
              "showing only their ICB, list-size band and deprivation quintile.")


def definition(measure: Measure) -> str:
    """The measure's definition as markdown: description, why it matters, provenance."""
    return (
        f"{measure.description}\n\n**Why it matters.** {measure.why_it_matters}\n\n"
        f"**Denominator:** {measure.denominator_label}. "
        f"**Units:** {measure.units}. **Polarity:** {polarity(measure)}.\n\n"
        f"Written by {measure.authored_by}; reviewed by {measure.reviewed_by}; "
        f"review date {measure.review_date:%d %B %Y}. Definition file: "
        f"`queries/measures/{measure.id}.yaml`."
    )


def polarity(measure: Measure) -> str:
    return {"higher_is_better": "higher is better", "lower_is_better": "lower is usually better",
            "none": "neither higher nor lower is better in itself"}[measure.polarity]


def funnel_axes(measure: Measure) -> tuple[str, str]:
    """(x title, y title) of the measure's funnel."""
    if measure.is_ratio:
        return f"{measure.denominator_label} (denominator)", f"Share, {measure.units}"
    return ("Expected events (from England's age-sex rates)" if measure.standardise else "Expected events",
            f"Age-sex standardised rate, {measure.units}" if measure.standardise else f"Rate, {measure.units}")
