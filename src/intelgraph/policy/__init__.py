"""Rego evaluation and the packaged policies: every service asks here before it acts."""

from intelgraph.policy.actions import Action
from intelgraph.policy.engine import Decision, PolicyEngine

__all__ = ["Action", "Decision", "PolicyEngine"]
