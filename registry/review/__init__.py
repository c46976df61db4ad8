"""The reviewers' queue and case pages."""
