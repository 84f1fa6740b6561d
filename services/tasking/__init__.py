"""The tasking service: reassurance-force orders, FRAGOs, task status, SITREPs (DOMAIN §7)."""
