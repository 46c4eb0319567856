"""Public interface of the identity context.

Everything another context may use of identity lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events identity publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
identity service can ship this module unchanged as its client contract.
"""

from __future__ import annotations
