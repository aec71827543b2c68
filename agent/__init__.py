"""venue-agent: the monitoring agent of a government video-conference branch venue."""

__version__ = "0.1.0"
