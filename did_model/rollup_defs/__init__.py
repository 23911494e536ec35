"""Rollup definitions, one module per area of the dashboard (activity, GP benchmarking, ...).

Each module defines `ROLLUPS: dict[str, str]` — table name → SELECT over the store — and
`did_model.rollups` builds them all at publish time. Names start with `rollup_` and are unique.
"""
