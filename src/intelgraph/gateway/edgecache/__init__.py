"""The gateway edge cache: safelisted persisted reads served from memory or Redis.

Modules, one idea each: ``keys`` (what a cache key holds), ``entries`` (a cached response,
its ETag and entity tags), ``backend`` (the storage port) with ``memory`` and
``redis_backend``, ``singleflight`` (request coalescing), ``safelist`` (which operations,
for how long; audited), ``hooks`` (purge notifications), ``service`` (the face: lookups,
stores and purges) and ``middleware`` (the ASGI stage). ``app.py`` builds it with
``factory.create_edge_cache``. This package imports nothing eagerly, so ``api`` modules
may name its types without an import cycle.
"""
