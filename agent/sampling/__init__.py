"""Short samples of the uplink picture and sound, judged: what the probes and the self-test share.

Here, not in the command line's package, because the self-test (run by the CLI and by the daemon alike) needs
them too, and the core must not import the command line.
"""
