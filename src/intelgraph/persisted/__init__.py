"""The persisted-operation area: the registry of shipped, operator-added and per-tenant
GraphQL documents (``registry``; APQ registers through it) and the safelist of those the
edge cache may serve (``safelist``)."""
