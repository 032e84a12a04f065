"""Status stores: the contract (base) and the embedded SQLite store."""
