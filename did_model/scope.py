"""Who is asking, and what they may see (architecture §7).

Every query function that returns data takes a `Scope` and must not return rows outside it;
pages and exports only call those functions, so hiding a page is never the access control.

Roles:
- central: everything, including record-level quarantine (audited).
- provider: its own providers' submissions, issues, quarantine and activity; national
  aggregates as comparators.
- commissioner: aggregates for its ICBs / sub-ICBs' registered population (and who imaged
  them), plus national comparators.
- gp: aggregates; its own practice named and highlighted, other practices only as the
  disclosure-controlled benchmark.

Aggregates shown to any role but central pass through `queries.disclosure.protect`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from did_errors import Refused

ROLES = ("central", "provider", "commissioner", "gp")
# Not a user's role: the scope of a publication (official statistics), which anyone may read.
PUBLIC = "public"


class ScopeError(Refused):
    """A request outside the user's scope. The message says what was refused and why. Not a
    PermissionError (did_errors.Refused says why)."""


@dataclass(frozen=True)
class Scope:
    role: str
    providers: frozenset[str] = field(default_factory=frozenset)  # provider ODS codes
    icbs: frozenset[str] = field(default_factory=frozenset)  # ICB ODS codes (2026 geography)
    sub_icbs: frozenset[str] = field(default_factory=frozenset)  # sub-ICB ODS codes
    practice: str | None = None
    user: str = "local"

    def __post_init__(self) -> None:
        if self.role not in (*ROLES, PUBLIC):
            raise ValueError(f"unknown role {self.role!r}; one of {', '.join(ROLES)}")
        if self.role == "provider" and not self.providers:
            raise ValueError("a provider user needs at least one provider code")
        if self.role == "commissioner" and not (self.icbs or self.sub_icbs):
            raise ValueError("a commissioner user needs at least one ICB or sub-ICB code")
        if self.role == "gp" and not self.practice:
            raise ValueError("a GP user needs a practice code")

    @property
    def is_central(self) -> bool:
        return self.role == "central"

    @property
    def needs_disclosure_control(self) -> bool:
        return not self.is_central

    def may_see_provider(self, provider_code: str) -> bool:
        """Provider-level detail (submissions, issues, quarantine, site activity)."""
        return self.is_central or (self.role == "provider" and provider_code.upper() in self.providers)

    def check_provider(self, provider_code: str) -> None:
        if not self.may_see_provider(provider_code):
            raise ScopeError(f"{self.user} ({self.role}) may not see provider {provider_code}'s detail")

    def visible_providers(self) -> list[str] | None:
        """Provider codes this user may see in detail; None means all."""
        if self.is_central:
            return None
        return sorted(self.providers) if self.role == "provider" else []

    def describe(self) -> str:
        what = {
            "central": "all data",
            "public": "published aggregates",
            "provider": ", ".join(sorted(self.providers)),
            "commissioner": ", ".join(sorted(self.icbs | self.sub_icbs)),
            "gp": self.practice or "",
        }[self.role]
        return f"{self.role}: {what}"


CENTRAL = Scope("central", user="system")
PUBLICATION = Scope(PUBLIC, user="publication")  # disclosure-controlled, no detail of any provider
