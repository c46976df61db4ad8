"""The audit log page: reading and checking the audit chain (registry.audit) as staff."""
