"""The reform-proposal catalogue and the mapping of cases to proposals."""
