"""Audit and compliance: the tamper-evident audit chain, exports, GDPR, retention."""
