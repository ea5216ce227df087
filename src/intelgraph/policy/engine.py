"""Policy decisions: the packaged ``authz.rego`` evaluated in process by regopy.

Every service asks ``PolicyEngine.authorize`` (or ``decide``) before it acts. The policy
is compiled once into a regopy bundle; each distinct input is evaluated once and then
served from a bounded in-memory cache, because the inputs are few (tenants, role sets,
actions, resource kinds) and an evaluation costs hundreds of microseconds.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from regopy import Interpreter, RegoError

from intelgraph.kernel.errors import INTERNAL, POLICY_DENIED, IntelGraphError
from intelgraph.kernel.tenancy import Principal

__all__ = ["DEFAULT_CACHE_SIZE", "Decision", "PolicyEngine", "packaged_policy_source"]

log = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 10_000
_POLICY_FILE = "authz.rego"
_DECISION_QUERY = "data.intelgraph.authz.decision"

# (subject tenant, roles as given, is_operator, action, resource kind, resource tenant).
# The resource tenant is kept verbatim rather than folded into "same tenant or not", so
# the cache stays correct whatever the policy later does with it.
_CacheKey = tuple[str | None, tuple[str, ...], bool, str, str, str | None]


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer: whether the action is allowed, why, and what to do if not."""

    allowed: bool
    reason: str
    hint: str = ""


def packaged_policy_source() -> str:
    """The text of the ``authz.rego`` shipped inside the ``intelgraph.policy`` package."""
    return files("intelgraph.policy").joinpath(_POLICY_FILE).read_text(encoding="utf-8")


class PolicyEngine:
    """Decides service actions with the Rego policy; safe to share between threads."""

    def __init__(self, *, source: str | None = None, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        """Compile the policy (the packaged one unless ``source`` is given).

        ``cache_size`` bounds the decision cache; 0 turns caching off. Raises
        ``IntelGraphError(INTERNAL)`` if the policy does not compile.
        """
        policy = packaged_policy_source() if source is None else source
        interpreter = Interpreter()
        try:
            interpreter.add_module(_POLICY_FILE, policy)
            bundle = interpreter.build(_DECISION_QUERY)
        except RegoError as exc:
            log.error("authorization policy does not compile: %s", exc)
            raise IntelGraphError(INTERNAL, "the authorization policy does not compile") from exc
        self._interpreter: Any = interpreter
        self._bundle: Any = bundle
        # regopy's Interpreter holds the input as state between set_input_term and the
        # query, so evaluations are serialised. Cached reads do not take the lock: a dict
        # lookup is atomic, and entries are only ever added whole or cleared.
        self._lock = threading.Lock()
        self._cache: dict[_CacheKey, Decision] = {}
        self._cache_size = max(cache_size, 0)

    def decide(
        self,
        principal: Principal,
        action: str,
        resource_kind: str,
        resource_tenant: str | None = None,
    ) -> Decision:
        """Whether ``principal`` may do ``action`` on a resource; unknown actions are denied.

        ``resource_tenant`` None means the principal's own tenant. Raises
        ``IntelGraphError(INTERNAL)`` if the policy cannot be evaluated.
        """
        key: _CacheKey = (
            principal.tenant_id,
            principal.roles,
            principal.is_operator,
            action,
            resource_kind,
            resource_tenant,
        )
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        term = _input_term(principal, action, resource_kind, resource_tenant)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            decision = self._evaluate(term)
            if self._cache_size:
                if len(self._cache) >= self._cache_size:
                    self._cache.clear()
                self._cache[key] = decision
        return decision

    def authorize(
        self,
        principal: Principal,
        action: str,
        resource_kind: str,
        resource_tenant: str | None = None,
    ) -> None:
        """Return if the policy allows the action; otherwise say which action and why.

        Raises ``IntelGraphError(POLICY_DENIED)`` naming the action, the reason and what to
        do about it, or ``IntelGraphError(INTERNAL)`` if the policy cannot be evaluated.
        """
        decision = self.decide(principal, action, resource_kind, resource_tenant)
        if decision.allowed:
            return
        message = f"action {action} is denied: {decision.reason}"
        if decision.hint:
            message = f"{message}; {decision.hint}"
        raise IntelGraphError(POLICY_DENIED, message, details={"action": str(action)})

    def _evaluate(self, term: str) -> Decision:
        """Run the compiled policy on one input; the caller holds the lock."""
        try:
            self._interpreter.set_input_term(term)
            output = self._interpreter.query_bundle(self._bundle)
        except (RegoError, ValueError) as exc:
            # ValueError: regopy parses the engine's output as JSON inside query_bundle.
            log.error("authorization policy evaluation failed: %s", exc)
            raise _evaluation_failed() from exc
        if not output.ok():
            log.error("authorization policy evaluation failed: %s", output)
            raise _evaluation_failed()
        return _decision_from(output.results)


def _input_term(
    principal: Principal, action: str, resource_kind: str, resource_tenant: str | None
) -> str:
    """The policy input document, as the JSON regopy takes."""
    return json.dumps(
        {
            "subject": {
                "tenant": principal.tenant_id,
                "roles": sorted(set(principal.roles)),
                "is_operator": bool(principal.is_operator),
            },
            "action": str(action),
            "resource": {"tenant": resource_tenant, "kind": str(resource_kind)},
        }
    )


def _decision_from(results: list[Any]) -> Decision:
    """Read the ``decision`` object out of regopy's results, refusing anything else."""
    value: object = None
    if len(results) == 1 and len(results[0].expressions) == 1:
        value = results[0].expressions[0]
    if isinstance(value, dict):
        allowed, reason, hint = value.get("allow"), value.get("reason"), value.get("hint")
        if isinstance(allowed, bool) and isinstance(reason, str) and isinstance(hint, str):
            return Decision(allowed=allowed, reason=reason, hint=hint)
    log.error("authorization policy returned no decision: %r", value)
    raise _evaluation_failed()


def _evaluation_failed() -> IntelGraphError:
    return IntelGraphError(INTERNAL, "the authorization policy could not be evaluated")
