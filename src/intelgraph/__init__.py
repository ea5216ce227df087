"""IntelGraph: a multi-tenant intelligence-graph service."""
