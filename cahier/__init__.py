"""cahier command-line interface."""
