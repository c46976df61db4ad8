"""Maintenance that runs by itself: ``registry maintain`` (README "Maintenance").

One run does every job of :data:`registry.maintenance.jobs.JOBS` once:
sweeping abandoned uploads, deleting expired staff sessions, invites and
spent recovery codes, and giving the database's freed space back (SQLite's
WAL checkpoint, PostgreSQL's VACUUM).  Runs are idempotent and exclusive
(:mod:`registry.maintenance.lock`); no job's failure stops the others.
"""
