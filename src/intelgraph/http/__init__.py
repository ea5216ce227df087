"""The HTTP contract that routes (``api``) and ASGI stages (``gateway``) share.

Below both, importing neither: what a request scope carries (``scope``), the one error
response shape (``responses``), reading request bodies (``body``) and GraphQL-over-HTTP
requests and media types (``graphql_request``).
"""
