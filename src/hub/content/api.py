"""Public interface of the content context.

Everything another context may use of content lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events content publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
content service can ship this module unchanged as its client contract.
"""

from __future__ import annotations
