"""Publishing: the retained status and periodic metrics, and what the outbox, the schedule and the
broker noticed, turned into events at a bounded rate."""
