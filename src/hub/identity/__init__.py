"""The identity context: accounts, sessions and tokens, MFA, organisations, roles and API keys.

Other contexts reach it only through :mod:`hub.identity.api`."""
