"""Areas: England, or one NHS region, ICB, sub-ICB location or PCN, by ODS code.

One type for every page and export that looks at an area: the variation views (regions, ICBs
and sub-ICBs, by the patient's registered practice) and GP benchmarking (practices of an ICB,
sub-ICB or PCN). Each says which levels it can show (`Area.require`). The column a rollup
keeps an area's code in is `<level>_code` (ref_practice's names), England has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from did_errors import UsageError

ENGLAND = "ENG"  # England's code among the areas (the registered population's REGION rows summed)
LEVEL_LABELS = {
    "england": "England",
    "region": "NHS region",
    "icb": "ICB",
    "sub_icb": "Sub-ICB location",
    "pcn": "PCN",
}
LEVELS = tuple(LEVEL_LABELS)


@dataclass(frozen=True)
class Area:
    """England (the default; its code is always `ENGLAND`) or one area at `level` by ODS code."""

    level: str = "england"
    code: str = ENGLAND

    def __post_init__(self) -> None:
        if self.level not in LEVEL_LABELS:
            raise UsageError(f"unknown area level {self.level!r}; one of {', '.join(LEVELS)}")
        if self.level == "england":
            object.__setattr__(self, "code", ENGLAND)
            return
        code = (self.code or "").strip().upper()
        if not code or code == ENGLAND:
            raise UsageError(f"an area at level {self.level!r} needs its ODS code; England takes none")
        object.__setattr__(self, "code", code)

    @property
    def is_england(self) -> bool:
        return self.level == "england"

    @property
    def column(self) -> str:
        """The column holding this level's codes in ref_practice and the rollups (a constant)."""
        return column(self.level)

    def require(self, levels: Iterable[str]) -> Area:
        """This area, or a UsageError naming the levels the caller can show."""
        levels = tuple(levels)
        if self.level not in levels:
            raise UsageError(f"areas at level {self.level!r} cannot be shown here; one of {', '.join(levels)}")
        return self

    def where(self) -> str:
        """SQL restricting a rollup with region/icb/sub_icb(/pcn)_code columns to this area; binds $area."""
        if self.is_england:
            return "region_code IS NOT NULL AND $area IS NOT NULL"
        return f"{self.column} = $area"


ENGLAND_AREA = Area()


def column(level: str) -> str:
    """The column of `level`'s codes in ref_practice and the rollups; England has none."""
    if level not in LEVEL_LABELS or level == "england":
        raise UsageError(f"no area column for level {level!r}; one of {', '.join(LEVELS[1:])}")
    return f"{level}_code"
