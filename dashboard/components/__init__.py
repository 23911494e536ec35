"""Small reusable pieces for the dashboard pages: chart builders, formatting, store access."""
