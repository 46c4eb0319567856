"""/orgs/{orgId}/notes: the guard authorises, the service decides, to_schema answers."""

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from hub.identity.api import Membership
from hub.kernel.tenancy import permission
from hub.kernel.web import BEARER_OR_KEY, to_schema
from tests.kit_example.schemas import NoteIn, NoteOut
from tests.kit_example.services import NoteService


class NoteController(Controller):
    path = "/orgs/{org_id:uuid}/notes"
    security = BEARER_OR_KEY

    @post(operation_id="writeNote", guards=[permission("example.notes.write")])
    async def write(
        self,
        data: JSONBody[NoteIn],
        membership: NamedDependency[Membership],
        notes: NamedDependency[NoteService],
    ) -> NoteOut:
        return to_schema(await notes.write(membership, data.body), NoteOut)
