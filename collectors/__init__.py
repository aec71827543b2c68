"""Collectors get raw readings from devices and the host; they know nothing of verdicts."""
