"""Plain rules and value types: no database, no Qt. Standard library and small pure libraries."""
