"""Authentication on the data plane: API keys, JWTs and token introspection, read from memory only."""
