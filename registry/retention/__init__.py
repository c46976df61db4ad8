"""Retention: a case's sealed content is deleted on a schedule that follows the case.

What the registry keeps longer than it needs can be seized (docs/threat-model.md),
so the sealed content of a closed case is deleted a number of months after the
day it was closed (``REGISTRY_RETENTION_CLOSED_MONTHS``, shorter or longer per
disposition with ``REGISTRY_RETENTION_BY_DISPOSITION``), unless a coordinator
holds it (:mod:`registry.retention.holds`).  An open case is kept while it is
open: its clock starts only when it is closed.

- :mod:`.rules`: the settings, parsed and checked; the deletion day of a case.
- :mod:`.purge`: the job (``purge_due``) that deletes what is due, one case per
  transaction, and the sweep of blobs a killed run left behind.
- :mod:`.holds`: a coordinator's hold (reason, end day), audited.
- :mod:`.status`: what the case page says about a case's retention.

"Never kept" (issue 15): work that never became a case is not kept at all,
so there is nothing for this package to schedule.  A report is stored in one
transaction or not at all (promise 8); an upload that never reached a stored
report is swept from ``storage/tmp`` (``BlobStore.sweep_incoming``), files
kept for a form that came back with an error from ``storage/held`` after a
day (``BlobStore.sweep_held``); the server-made receipt of an unsent form
lives only in the person's page; a Telegram conversation only in the bot's
memory.  No table holds a submitter's draft.
"""
