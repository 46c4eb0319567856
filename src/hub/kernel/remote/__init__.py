"""A context's public interface over HTTP: the same Protocol served and called remotely.

``interface`` describes a Protocol (its operations, argument structs and result types, from
its type hints); ``server`` serves an implementation of it under ``/internal/v1/<context>``;
``client`` builds an object implementing the Protocol whose methods call that server. The
composition root picks the in-process facade or the remote adapter from the settings
(``HUB_CONTEXTS``, ``HUB_REMOTE_<CONTEXT>_URL``); no context knows which it was given.
"""
