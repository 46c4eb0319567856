"""The content context: documents, versions, storage, search and the audit trail.

Other contexts reach it only through :mod:`hub.content.api`."""
