"""Rate limiting: RatePolicy in the admin, counters in Redis (one Lua call per request) or in memory."""
