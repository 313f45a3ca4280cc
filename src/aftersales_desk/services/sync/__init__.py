"""Offline-first sync of branch devices with a central PostgreSQL (see docs/sync.md).

``central``: the central schema, roles and row-level security, and the server side of a push
(applied under the branch's own role, so row-level security decides what it may write).
``client``: the device side: batches from the outbox, push, pull, the ``sync`` round.
"""

PROTOCOL_VERSION = 1
