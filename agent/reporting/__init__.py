"""Reporting: findings into the status board, events through the outbox, the status payload."""
