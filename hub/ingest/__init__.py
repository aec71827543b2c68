"""Ingest: the broker's stream into the database, exactly once per event, with each venue's state."""
