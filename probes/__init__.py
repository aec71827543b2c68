"""Probes turn readings into Findings: pure judgement, no I/O, no knowledge of the agent."""
