"""`auditor fleet`: scan many tenants at once, each with its own credential and client (issue 5)."""
