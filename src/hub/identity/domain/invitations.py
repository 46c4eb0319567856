"""Rules of invitations that need no database: who may still stand behind one.

An invitation is a promise made by its inviter. It is only as good as the inviter's
standing when it is *used*: an administrator removed or demoted after sending an admin
invitation (to an address of their own, say) must not be let back in through it.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.identity.api import Membership
from hub.identity.domain.roles import INVITATIONS_MANAGE


def inviter_still_allowed(
    inviter: Membership | None, *, active: bool, granted: Iterable[str]
) -> bool:
    """Whether the inviter may, right now, send an invitation granting ``granted``.

    ``inviter`` is their current membership (None: no longer a member), ``active`` whether
    their account is still enabled. They must still hold ``identity.invitations.manage``
    and every permission the invitation hands out (the same no-escalation rule as when it
    was sent).
    """
    if inviter is None or not active:
        return False
    return all(inviter.allows(key) for key in {INVITATIONS_MANAGE, *granted})
