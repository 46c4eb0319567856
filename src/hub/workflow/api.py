"""Public interface of the workflow context.

Everything another context may use of workflow lives here: the synchronous ``Protocol``,
the msgspec DTOs it returns and the integration events workflow publishes. Framework-free
(import-linter forbids SQLAlchemy, Litestar, dramatiq and Redis here), so a split-out
workflow service can ship this module unchanged as its client contract.
"""

from __future__ import annotations
