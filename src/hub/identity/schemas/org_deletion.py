"""HTTP bodies of an organisation's deletion (``services.org_deletion``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from hub.kernel.structs import Schema


class OrganisationDeletionOut(Schema):
    """A scheduled deletion: the organisation is closed from ``deletionScheduledAt`` and
    purged (every context's data of it deleted) after ``purgeAfter``; an owner can cancel
    until then with ``POST /orgs/{orgId}/deletion/cancel``."""

    id: uuid.UUID
    deletion_scheduled_at: datetime
    purge_after: datetime
