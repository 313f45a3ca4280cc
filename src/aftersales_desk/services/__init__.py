"""Use cases, one module per area. Plain Python: no Qt. Each takes a ``Database`` and an ``Actor``."""
