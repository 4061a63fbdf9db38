"""Reserved app: see the open issue that builds it."""
