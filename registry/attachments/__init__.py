"""Attachments: what a file really is, photos cleaned of metadata, sealed blobs on disk.

* :mod:`registry.attachments.sniff`: the media type from the first bytes,
  from an allowlist (never from the name or the browser's claim);
* :mod:`registry.attachments.scrub`: photos re-encoded without location and
  camera data, within the bounds :mod:`registry.attachments.imageplan`
  sets from the headers (:mod:`registry.attachments.jpeghead` reads a
  JPEG's); :mod:`registry.attachments.plainreader` feeds them the sealed
  upload a chunk at a time;
* sealing is :class:`registry.crypto.StreamSealer` (chunked, never whole in
  memory); :mod:`registry.attachments.storage` keeps the sealed blobs, and
  :mod:`registry.attachments.sweep` removes those of dead uploads.

WHY nothing is re-exported here: ``sniff`` is both a module and its main
function, and importing this package must not pull in Pillow for code that
only needs the blob store.
"""
