"""The submitter comes back with the receipt: status, messages, consents, withdrawal."""
