"""Circuit breakers per target, active health sweeps, and the health view of services."""
