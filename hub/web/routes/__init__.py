"""The board's routes, one module per page (and one for the machine-readable endpoints)."""
