"""Configuration: typed models, a loader that names every bad field and line, secret resolution."""

from agent.config.load import ConfigError, ConfigIssue, load_config, parse_config
from agent.config.models import Settings

__all__ = ["ConfigError", "ConfigIssue", "Settings", "load_config", "parse_config"]
