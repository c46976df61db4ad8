"""Sealed packs in the age format, streamed: the pieces referral and recovery share.

- :mod:`registry.packing.tarstream`: a tar archive produced a member at a
  time, pulled by its reader (nothing held but the chunk in hand);
- :mod:`registry.packing.agestream`: that stream encrypted to ``age``
  recipients with pyrage while it is read (flat memory, no disk);
- :mod:`registry.packing.recipients`: parsing and checking ``age1…``
  X25519 recipients.

Referral packs (registry.referral.packs) and offline recovery
(registry.keyring.recover) both build on these; neither holds a plaintext
archive in memory or on disk.  No Flask, no database.
"""
