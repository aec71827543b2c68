"""The simulated venue: a private broker and simulated sources, shared by the demo, tests and benchmarks."""
