"""`python -m agent` is the same as the `venue-agent` console script."""

from agent.cli.main import main

main()
