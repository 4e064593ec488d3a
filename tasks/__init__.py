"""The work itself: plain, typed functions (no Prefect import)."""
