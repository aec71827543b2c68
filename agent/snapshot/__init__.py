"""Uplink snapshots: the newest analysed frame kept small, and published as a JPEG when asked."""
