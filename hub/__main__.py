"""`python -m hub …` runs `venue-hub` (tests start the hub as a real process this way)."""

from hub.cli.main import main

main()
