"""Real peers the tests talk to (a subscriber playing the hub, the agent as a real process)."""
