"""The entity-resolution engine: pure functions and values over in-memory records (no
database, no audit, no clock but the one it is given).

Modules, one idea each: ``records`` (what is resolved), ``config`` and ``er/configs/`` (what to
compare and how to block, as data), ``normalisation`` and ``preparation`` (values made
comparable once), ``comparisons`` (levels per pair), ``blocking`` (candidate pairs),
``scoring`` and ``training`` (Fellegi-Sunter, trained without labels), ``decisions``,
``clustering`` and ``cluster_ids`` (merges with stable ids), ``evaluation`` and ``golden``
(quality against labels), ``runs`` (one golden-set evaluation), ``drift`` and
``drift_checks`` (quality over time), ``mapping`` (graph entity to record),
``explanation`` (why two records match), ``pipeline`` (batch and online).
Nothing here does I/O beyond reading a config or golden file it is pointed at.
"""
