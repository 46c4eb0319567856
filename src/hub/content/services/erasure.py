"""Content's part of erasing a person (``identity.user_erased``, GDPR Article 17).

* Documents the person owns go to the organisation's successor owner named by the event
  (an owner of it, asked of identity if the event names none); with the organisation's
  policy ``departedOwnerDocuments = "trash"`` they also move to the trash, where the
  usual trash retention deletes them. The default, ``transfer``, keeps them: a practice's
  records outlive the employee who filed them.
* Records that stay for others name the erasure's pseudonym instead of the person: who
  uploaded a version, who wrote a note, who made a share link. Shares to the person go.
* Their personal saved views go; the shared ones stay the organisation's, made by nobody.
  A view filtering on the person as owner filters on the pseudonym (their documents
  have a new owner, so it finds nothing, as before it would have found only theirs).
* The audit trail pseudonymises every entry naming them (``services.audit_erasure``).
* Published outbox rows naming them are deleted.

Nothing is published: events published here would carry the erased person as actor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text, update

from hub.content.models import Document, SavedView
from hub.content.services.audit_erasure import AuditPseudonymiser
from hub.identity.api import IdentityApi, UserErased
from hub.kernel.clock import Clock
from hub.kernel.db import UnitOfWork
from hub.kernel.erasure import ErasedPerson, forget_published_events
from hub.kernel.problems import field_invalid
from hub.kernel.store import Store

#: What happens to a departed owner's documents (``organisation_settings``).
TRANSFER, TRASH = "transfer", "trash"

_OWNED_ORGS = text(
    "SELECT DISTINCT d.organisation_id, coalesce(s.departed_owner_documents, 'transfer') AS policy"
    " FROM content.documents d LEFT JOIN content.organisation_settings s"
    "   ON s.organisation_id = d.organisation_id"
    " WHERE d.owner_id = :user_id ORDER BY d.organisation_id"
)
_HAND_OVER = text(
    "UPDATE content.documents SET owner_id = :successor, updated_at = :now"
    " WHERE owner_id = :user_id AND organisation_id = :org"
)
_HAND_OVER_TO_TRASH = text(
    "UPDATE content.documents SET owner_id = :successor, updated_at = :now,"
    " trashed_at = coalesce(trashed_at, :now)"
    " WHERE owner_id = :user_id AND organisation_id = :org"
)
_STATEMENTS = (
    "UPDATE content.documents SET trashed_by = NULL WHERE trashed_by = :user_id",
    "UPDATE content.document_versions SET created_by = :pseudonym WHERE created_by = :user_id",
    "UPDATE content.notes SET author_id = :pseudonym WHERE author_id = :user_id",
    "UPDATE content.share_links SET created_by = :pseudonym WHERE created_by = :user_id",
    "DELETE FROM content.document_shares WHERE subject_kind = 'user' AND subject_id = :user_id",
    "DELETE FROM content.saved_views WHERE owner_id = :user_id AND NOT shared",
    "UPDATE content.saved_views SET owner_id = NULL WHERE owner_id = :user_id",
    # The account stays the organisation's; with no owner it reads nothing until someone
    # saves it again (and becomes its owner).
    "UPDATE content.mail_accounts SET owner_id = NULL WHERE owner_id = :user_id",
    "UPDATE content.consume_folders SET owner_id = NULL WHERE owner_id = :user_id",
)


@dataclass(eq=False)
class ContentErasure:
    identity_api: IdentityApi
    audit: AuditPseudonymiser
    clock: Clock

    async def erase(self, uow: UnitOfWork, event: UserErased) -> None:
        person = ErasedPerson(user_id=event.user_id, email=event.email, pseudonym=event.pseudonym)
        session = uow.session
        params = {"user_id": person.user_id, "pseudonym": person.pseudonym}
        now = self.clock()
        for organisation_id, policy in (await session.execute(_OWNED_ORGS, params)).all():
            successor = event.successors.get(organisation_id) or await self._owner_of(
                organisation_id, person
            )
            await session.execute(
                _HAND_OVER_TO_TRASH if policy == TRASH else _HAND_OVER,
                {**params, "successor": successor, "org": organisation_id, "now": now},
            )
        for statement in _STATEMENTS:
            await session.execute(text(statement), params)
        await self._scrub_custom_fields(uow, person)
        await self.audit.pseudonymise(uow, person)
        await forget_published_events(uow, person)

    async def _scrub_custom_fields(self, uow: UnitOfWork, person: ErasedPerson) -> None:
        """Custom field values naming the person (a "responsible" field holding their
        id or address) now name the pseudonym; so do saved views' conditions."""
        await uow.session.execute(
            update(Document)
            .where(person.mentioned_in(Document.custom_fields))
            .values(custom_fields=person.scrubbed_json(Document.custom_fields))
        )
        await uow.session.execute(
            update(SavedView)
            .where(person.mentioned_in(SavedView.filters))
            .values(filters=person.scrubbed_json(SavedView.filters))
        )

    async def _owner_of(self, organisation_id: uuid.UUID, person: ErasedPerson) -> uuid.UUID:
        """An owner of an organisation the person had left (the event names only those
        they were a member of); the pseudonym when there is none any more."""
        owners = sorted(await self.identity_api.members_with_role(organisation_id, "owner"))
        return owners[0] if owners else person.pseudonym


_POLICY = text(
    "SELECT departed_owner_documents FROM content.organisation_settings"
    " WHERE organisation_id = :org"
)
_SET_POLICY = text(
    "INSERT INTO content.organisation_settings (organisation_id, departed_owner_documents)"
    " VALUES (:org, :policy) ON CONFLICT (organisation_id)"
    " DO UPDATE SET departed_owner_documents = :policy"
)


@dataclass(eq=False)
class ErasurePolicies:
    """An organisation's ``departed_owner_documents`` (``transfer`` without a row)."""

    store: Store

    async def policy(self, organisation_id: uuid.UUID) -> str:
        found = await self.store.scalar(_POLICY, {"org": organisation_id})
        return str(found) if found is not None else TRANSFER

    async def set_policy(self, organisation_id: uuid.UUID, policy: str) -> str:
        if policy not in (TRANSFER, TRASH):
            raise field_invalid("departedOwnerDocuments", "Either transfer or trash.")
        async with self.store.uow() as uow:
            await uow.session.execute(_SET_POLICY, {"org": organisation_id, "policy": policy})
            await uow.commit()
        return policy
