"""The edge cache area: safelisted persisted reads served from memory or Redis.

Modules, one idea each: ``keys`` (what a cache key holds), ``entries`` (a cached response,
its ETag and entity tags), ``backend`` (the storage port) with ``memory`` and
``redis_backend``, ``epochs`` (the database's word on which entries may be served),
``singleflight`` (request coalescing), ``hooks`` (purge notifications) and ``service`` (the
face: lookups, stores and purges). Which operations may be cached is the persisted area's
safelist (``persisted/safelist.py``); the ASGI stage that answers hits is
``gateway/edge_cache.py``. ``app.py`` builds it (``build_edge_cache``: Redis when a URL is
set, else memory).
"""
