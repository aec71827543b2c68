"""The `venue-agent` command line: the daemon, config checks and a technician's status view."""
