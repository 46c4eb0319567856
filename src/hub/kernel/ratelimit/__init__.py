"""Rate limits every API process shares: named buckets per route, counted in Redis.

Each ``/api/v1`` route draws from a bucket — ``reads`` for GET/HEAD/OPTIONS, ``writes`` for
the other methods, or the one it names with ``opt=rate_limit("sends")`` (a controller or
router can name one for all its routes; ``rate_limit(False)`` exempts a route). A request
spends one unit from two budgets and must find both non-empty: its caller's (user id, or
API key id) and its client address's (the proxy-aware address of
:class:`~hub.kernel.security.ClientAddress`, with the quota times
``HUB_RATE_LIMIT_ADDRESS_FACTOR`` since one address may carry a whole office). Anonymous
requests only have the address budget. A service adds a narrower limit on anything else
with ``await kernel.rate_limits.hit("password-reset", key=email, limit=5, window=3600)``.

Responses carry ``RateLimit-Policy`` and ``RateLimit`` (draft-ietf-httpapi-ratelimit-headers);
a refusal is a 429 ``rate_limited`` problem with ``Retry-After``. ``limiter`` holds the
algorithm and the fail-open/closed choice, ``middleware`` the HTTP side; the check runs on
the kernel's lean Redis connection (``hub.kernel.redis_pipe``), which keeps it cheap.
"""

from hub.kernel.ratelimit.limiter import (
    BUCKETS,
    RateLimited,
    RateLimiter,
    RateLimitUnavailable,
    Verdict,
)
from hub.kernel.ratelimit.middleware import (
    OPT_KEY,
    RateLimitMiddleware,
    RateLimitPlugin,
    check_routes,
    rate_limit,
)

__all__ = [
    "BUCKETS",
    "OPT_KEY",
    "RateLimitMiddleware",
    "RateLimitPlugin",
    "RateLimitUnavailable",
    "RateLimited",
    "RateLimiter",
    "Verdict",
    "check_routes",
    "rate_limit",
]
