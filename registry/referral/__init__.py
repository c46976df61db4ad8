"""Referral: partner organisations, and evidence packs sealed to them (issue 12).

* :mod:`registry.referral.partners`: adding, listing and removing partners
  (audited);
* :mod:`registry.referral.packs`: choosing the cases of a pack, refusing
  what may not leave, and preparing its members (manifests signed with the
  registry's key, files as stored) with one audit event per case;
* :mod:`registry.referral.manifest`: the manifests' versioned schema
  (docs/packs.md);

The age format, the tar stream and the recipients come from
:mod:`registry.packing`, which offline recovery shares.
"""
