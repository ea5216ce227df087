"""SQL for entity resolution, one module per table group. Only these modules import
``store.tables``; components import the group they need (``from intelgraph.er.repository
import thresholds as threshold_repo``).

``state`` (revision and ordinals), ``entities`` (the graph's entities, read only),
``clusters`` (clusters and memberships), ``merge_events``, ``overrides``, ``review_queue``,
``golden_sets``, ``models``, ``thresholds``, ``quality`` (runs, alerts, online batches),
``type_configs``.
"""
