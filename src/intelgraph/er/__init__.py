"""Entity resolution: ``service.EntityResolutionService`` is the face (a thin facade whose
namespaces are the ``components/``), ``engine/`` the pure matching engine over in-memory
records, ``repository/`` the SQL (one module per table group).

Beside them: ``online`` (the in-memory indexes online resolution writes through) and
``worker`` (its background thread), ``curation`` (cluster changes a person makes),
``type_configs`` (configs per tenant and type), and the area's stored values:
``history`` (memberships, merge events), ``review`` (review items), ``governance``
(thresholds versions), ``charts`` (F1 charts for the CLI). ADR 015 records the layout.
"""
