"""The schedule: the Art. 14 timeline, the kept schedule, the conference record (Art. 3, 20)."""
