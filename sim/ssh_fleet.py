"""Many simulated SSH devices in one process, for the 50-device benchmark:
`python -m sim.ssh_fleet --codecs 25 --switches 25` prints one JSON line per device
({kind, port, known_hosts}) and serves until its stdin closes."""

from __future__ import annotations

import argparse
import json
import sys

from sim.ssh_devices import SshDeviceSimulator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", type=int, default=25)
    parser.add_argument("--switches", type=int, default=25)
    args = parser.parse_args()
    fleet = [SshDeviceSimulator("cisco_tp") for _ in range(args.codecs)]
    fleet += [SshDeviceSimulator("huawei") for _ in range(args.switches)]
    for device in fleet:
        device.start()
        print(json.dumps({"kind": device.kind, "port": device.port, "known_hosts": device.known_hosts_line()}))
    sys.stdout.flush()
    sys.stdin.read()  # until the benchmark closes our stdin
    for device in fleet:
        device.stop()


if __name__ == "__main__":
    main()
