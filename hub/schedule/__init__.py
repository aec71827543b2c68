"""The schedule an office pushes to its venues: reading it from TOML or .ics, and sending it."""
