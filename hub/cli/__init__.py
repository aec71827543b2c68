"""The `venue-hub` command line."""
