"""Evidence out: published snapshots of verified cases, charts, team statistics."""
