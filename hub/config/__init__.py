"""The hub's config file (TOML): models, loading with line numbers, and the venue inventory."""
