"""SSH collection: codec xAPI and network gear CLI through netmiko (see docs/ssh.md)."""
