"""`make bench`: the gateway against nginx and plain Python proxies (see README.md)."""
