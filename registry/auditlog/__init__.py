"""The administrators' view of the audit log: filter, page, verify the chain."""
