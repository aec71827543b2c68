"""SNMP: one asyncio engine, device profiles as data files, readings without verdicts."""
