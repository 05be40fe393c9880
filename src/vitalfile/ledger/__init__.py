"""The ledger: events appended in hash-chained commits, the storage interface, checkpoints."""
