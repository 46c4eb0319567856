"""Where document files live: a content-addressed blob store behind one interface, with a
filesystem backend (default, under ``HUB_DATA_DIR``) and an S3-compatible one, chosen by
``HUB_STORAGE_URL``. Blobs are named by the SHA-256 of their bytes, so two uploads of the
same bytes store one blob; whether a blob is still referenced is the documents' business
(``hub.content.services``), not the store's."""
