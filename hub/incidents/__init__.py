"""Incidents at once (Art. 8(5)): rules that raise them, the ledger that keeps them, sinks that post them."""
