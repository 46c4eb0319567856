"""Public interface of the communication context.

Everything another context may use of communication lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events communication publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
communication service can ship this module unchanged as its client contract.
"""

from __future__ import annotations
