"""The ER facade's namespaces, one component per module (Splink's ``Linker`` layout):
``training`` (models), ``configs`` (comparisons per type), ``resolution`` (online
resolution, explanations, status), ``clustering`` (clusters, curation, the review queue),
``evaluation`` (golden sets and runs), ``thresholds`` (proposals and approvals) and
``drift`` (the nightly job, alerts, gauges). Each takes ``ERDependencies`` and the
components it needs; none calls back into the facade.
"""
