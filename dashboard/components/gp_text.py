"""Plain-English explanations shown next to the GP benchmarking charts (one place, so both pages
say the same thing and the tests can find it)."""

from __future__ import annotations

import re

import polars as pl

from did_model.measures import Measure
from queries.funnel import TOO_FEW, Dispersion, widens
from queries.gp_benchmark import APPROXIMATION, MIN_EVENTS, MIN_LIST_SIZE

FUNNEL = (
    "**Reading the funnel.** Each mark is a practice. Across the bottom is how much we would "
    "expect to see at that practice (its size, and for rates its patients' ages and sexes); up "
    "the side is its value. The horizontal line is England. The curved lines show how far from "
    "England a practice could land **by chance alone**: 95% of practices should sit inside the "
    "dashed lines and 99.8% inside the solid ones. Small practices have wide limits, because a few "
    "examinations either way move their rate a lot. "
    "**Outside the limits is a prompt to look, not a verdict**: it can reflect the practice's "
    "patients, local access to imaging, how a provider records the request, or chance (with "
    "thousands of practices, a few land outside 99.8% limits by chance).\n\n"
    "**How a practice is called higher or lower.** Not by the drawn lines, which are smoothed "
    "for the eye, but by the exact chance of a count at least as far from what was expected if "
    "the practice were like England (Poisson for rates, binomial for shares): below 2.5% on one "
    "side is outside 95%, below 0.1% outside 99.8%. We use the exact probability rather than "
    'the "mid-p" one because only the exact one never flags more practices than the level '
    "promises at any size; the cost is that small practices are flagged a little less often "
    "than that. So a mark just past a line can still be within, but no flagged mark sits inside "
    "its line.\n\n"
    "**Too few to judge.** A practice is not judged when even the most extreme count could not "
    "be significant both ways at 95%. For a rate, that is 3.7 events expected or fewer: the "
    "chance of seeing no events at all when E are expected is e^−E, below 2.5% only when E is "
    "above ln 40 = 3.69. For a share, it is when none of its examinations, or all of them, would "
    "still not be significant (about 3.7 expected each way). With the adjustment on, the rule "
    "applies to the scaled count, so it takes a little more. Between 3.7 and 6.9 events expected "
    "(ln 1,000) a practice can be lower than expected at 95% but not at 99.8%."
)
OVERDISPERSION = (
    "**Allowing for real differences between practices.** Practices differ for reasons no "
    "benchmark can see. With the adjustment on (the default, Spiegelhalter 2005), the limits are "
    "widened by the spread between practices seen across England, so only practices unusual even "
    "after that are flagged; each practice's count is then judged as if it were smaller, in "
    "proportion. Turn it off to see chance alone. The spread is measured by phi, the average "
    "squared distance from England of the middle 80% of practices (the top and bottom tenth are "
    "pulled in, so the outliers being looked for do not inflate it): about 0.68 when practices "
    "differ by chance alone and counts are large, so the limits widen only when phi is clearly "
    "above that (above 1). "
    "The direct check is the share of practices called at each level, given below next "
    "to the most chance alone would put there."
)
_OUTSIDE = {"95%": ("above 95%", "above 99.8%", "below 95%", "below 99.8%"), "99.8%": ("above 99.8%", "below 99.8%")}


def limits_words(dispersion: Dispersion, method: str) -> str:
    """What the drawn limits allow for: widened only when the method finds spread beyond chance."""
    if method == "none":
        return "chance alone"
    if not widens(dispersion, method):
        return "chance alone (no spread beyond chance found)"
    return f"widened for real differences ({method})"


def dispersion_caption(dispersion: Dispersion, method: str, comparisons: pl.Series) -> str:
    """The share of the practices shown that are called higher or lower at each level, next to
    the most chance alone would give (5% and 0.2%), and phi in words: what the chart shows."""
    shown = comparisons.drop_nulls().filter(comparisons.drop_nulls() != "")
    parts = []
    for level, nominal in (("95%", "5%"), ("99.8%", "0.2%")):
        flagged = int(shown.is_in(_OUTSIDE[level]).sum())
        share = f"{flagged / shown.len():.1%}" if shown.len() else "–"
        parts.append(f"{flagged:,} ({share}) called higher or lower at {level} (chance alone: at most {nominal})")
    return (
        f"Of the {shown.len():,} practices shown with figures: {'; '.join(parts)}; "
        f"{int((shown == TOO_FEW).sum()):,} too few to judge. Spread between England's "
        f"{dispersion.units:,} practices: phi = {dispersion.phi:.2f} (about 0.68 by chance alone when "
        f"counts are large; limits widen above 1), tau² = {dispersion.tau2:.4f}. "
        f"Limits: {limits_words(dispersion, method)}."
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
DISCLOSURE = (
    "To protect patients, every count has a little fixed noise added before anything is "
    "worked out from it; counts of 1–7 are then not shown (*), with every figure that comes "
    "with them, and the rest are rounded to the nearest 5. Other practices appear unnamed, "
    "showing only their ICB, list-size band and deprivation quintile."
)


def definition(measure: Measure) -> str:
    """The measure's definition as markdown: description, why it matters, who wrote and reviewed it."""
    return (
        f"{measure.description}\n\n**Why it matters.** {measure.why_it_matters}\n\n"
        f"**Denominator:** {measure.denominator_label}. "
        f"**Units:** {measure.units}. **Polarity:** {polarity(measure)}.\n\n{provenance(measure)}"
    )


def provenance(measure: Measure) -> str:
    """Who wrote the definition and whether a clinician has reviewed it, in words a reader uses.

    The definition file's fields carry issue numbers and a placeholder reviewer ("Awaiting clinical
    review (…)") for the maintainers; a page says only what they mean. The file path stays in
    README/docs."""
    author = re.sub(r"\s*\([^)]*issue #\d+[^)]*\)", "", measure.authored_by).strip()
    reviewer = measure.reviewed_by.strip()
    if reviewer.lower().startswith("awaiting"):
        note = re.search(r"\((.+)\)", reviewer)
        reviewed = (note.group(1)[0].upper() + note.group(1)[1:]) if note else "Not yet clinically reviewed"
        reviewed += f"; definition dated {measure.review_date:%-d %B %Y}."
    else:
        reviewed = f"Reviewed by {reviewer} on {measure.review_date:%-d %B %Y}."
    return f"Written by {author}. {reviewed}"


def polarity(measure: Measure) -> str:
    return {
        "higher_is_better": "higher is better",
        "lower_is_better": "lower is usually better",
        "none": "neither higher nor lower is better in itself",
    }[measure.polarity]


def funnel_axes(measure: Measure) -> tuple[str, str]:
    """(x title, y title) of the measure's funnel."""
    if measure.is_ratio:
        return f"{measure.denominator_label} (denominator)", f"Share, {measure.units}"
    return (
        "Expected events (from England's age-sex rates)" if measure.standardise else "Expected events",
        f"Age-sex standardised rate, {measure.units}" if measure.standardise else f"Rate, {measure.units}",
    )
