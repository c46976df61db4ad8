"""Backups of a running registry, and their restore onto an empty install.

- :mod:`registry.backup.layout`: what a backup holds and how it is framed
  (the escrow header, the archive's member names, the closing manifest);
  the byte layout is in docs/backup.md;
- :mod:`registry.backup.snapshot`: a consistent snapshot of the database
  (SQLite's backup API, or ``pg_dump`` on an exported snapshot) and the
  blobs its attachment rows name;
- :mod:`registry.backup.writer`: ``registry backup``: keys, database and
  blobs as a tar stream encrypted with ``age`` while it is written
  (registry.packing), to the escrow key or to ``age`` recipients;
- :mod:`registry.backup.agedecrypt`: an ``age`` file decrypted while it is read;
- :mod:`registry.backup.target`: whether the install to restore onto is empty;
- :mod:`registry.backup.restore`: ``registry restore``: every member checked and
  staged, then applied at once, so a bad file leaves the target as it was.

No Flask: the commands (:mod:`registry.backup.cli`) read the configuration
and hand these functions paths and URLs.
"""
