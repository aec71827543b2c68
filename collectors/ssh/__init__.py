"""SSH collection: codec xAPI and network gear CLI through netmiko (see docs/ssh.md)."""

import sys

# paramiko imports `invoke` only to run an ssh_config file's `Match exec` lines, and carries on without
# it (paramiko/config.py catches the ImportError). The agent never hands netmiko an ssh_config file, and
# invoke with what it pulls in (unittest.mock among them) is 2.9 MiB of the SNMP + SSH daemon's 77 MiB
# (#15 item 6: ≤ 80 MB; docs/benchmarks.md). Set here, before any module of this package imports
# paramiko; left alone if something loaded invoke first.
sys.modules.setdefault("invoke", None)  # type: ignore[arg-type]
