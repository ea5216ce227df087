"""Entity resolution: the pure engine that works on in-memory records.

Modules, one idea each: ``records`` (what is resolved), ``config`` and ``configs/`` (what to
compare and how to block, as data), ``normalisation`` and ``preparation`` (values made
comparable once), ``comparisons`` (levels per pair), ``blocking`` (candidate pairs),
``scoring`` and ``training`` (Fellegi-Sunter, trained without labels), ``decisions``,
``clustering`` and ``cluster_ids`` (merges with stable ids), ``evaluation`` and ``golden``
(quality against labels), ``drift`` (quality over time), ``pipeline`` (batch and online).
Nothing here does I/O beyond reading a config or golden file it is pointed at.
"""
