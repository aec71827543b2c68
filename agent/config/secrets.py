"""The agent reads its secrets through the shared resolver (contract/secrets.py), as the hub does."""

from contract.secrets import SecretError, SecretIssue, resolve_env_secret, resolve_password, resolve_password_fields

__all__ = ["SecretError", "SecretIssue", "resolve_env_secret", "resolve_password", "resolve_password_fields"]
