"""Bench accounts, made by the operator's command (``hub users create``) in one process.

A login storm needs several accounts: the brute-force counter of an account is reserved
before each password check and cleared by a success, so more than
``HUB_LOCKOUT_THRESHOLD`` (10) concurrent sign-ins to *one* account lock it even with the
right password. With one account per connection the hub runs with its production
thresholds. Run with the hub's ``HUB_*`` environment:
``python -m bench.accounts 16`` creates ``bench-01@example.com`` … ``bench-16@example.com``
(verified, the password below), printing one user id per line.
"""

from __future__ import annotations

import sys

#: A throw-away account in a scratch database.
PASSWORD = "bench password 123"
DISPLAY_NAME = "Bench"


def email(index: int) -> str:
    return f"bench-{index + 1:02d}@example.com"


def main(argv: list[str] | None = None) -> int:
    from hub.cli import main as hub

    count = int((argv if argv is not None else sys.argv[1:])[0])
    for index in range(count):
        args = ["users", "create", email(index), "--name", DISPLAY_NAME, "--password", PASSWORD]
        hub.main(args, prog_name="hub", standalone_mode=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
