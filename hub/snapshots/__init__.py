"""The hub side of uplink snapshots: validating what venues publish, keeping the latest and a bounded history."""
