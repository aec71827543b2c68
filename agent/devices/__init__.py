"""Devices: what the status and the conference record know of a codec or a switch."""
