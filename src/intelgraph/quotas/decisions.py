"""What a quota check answers, and how that answer reads over HTTP.

Headers follow the IETF draft "RateLimit header fields for HTTP"
(draft-ietf-httpapi-ratelimit-headers): ``RateLimit-Policy: "api_rpm";q=100;w=60`` names a
policy, its quota and window; ``RateLimit: "api_rpm";r=0;t=17`` says what remains and in how
many seconds it frees up. Several policies share one header as a comma-separated list.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from intelgraph.kernel.errors import (
    EGRESS_LIMIT_EXCEEDED,
    INGEST_RATE_EXCEEDED,
    QUOTA_EXCEEDED,
    ErrorCode,
    IntelGraphError,
)
from intelgraph.tenants.plans import LimitName

GIGABYTE = 10**9
"""egress_gb_day counts decimal gigabytes of response body."""

WINDOW_SECONDS: dict[LimitName, int] = {
    LimitName.API_RPM: 60,
    LimitName.INGEST_EPS: 1,
    LimitName.EGRESS_GB_DAY: 86_400,
}

_ERROR_CODES: dict[LimitName, ErrorCode] = {
    LimitName.API_RPM: QUOTA_EXCEEDED,
    LimitName.INGEST_EPS: INGEST_RATE_EXCEEDED,
    LimitName.EGRESS_GB_DAY: EGRESS_LIMIT_EXCEEDED,
}

_QUOTED_NAMES: dict[LimitName, str] = {limit: f'"{limit.value}"' for limit in LimitName}
"""``"api_rpm"``: looked up per response, where ``limit.value`` (an Enum descriptor) costs."""

POLICY_HEADER = "RateLimit-Policy"
STATE_HEADER = "RateLimit"


class QuotaDecision(NamedTuple):
    """One limit checked for one tenant: admitted or not, and what is left.

    ``quota`` and ``remaining`` are in the limit's unit: requests (api_rpm), records
    (ingest_eps) or bytes (egress_gb_day). ``reset_seconds`` is when the quota frees up
    again: the oldest charge leaves the moving window (admitted), enough has left for this
    charge (refused), or the UTC day turns. ``is_degraded`` marks a decision taken without
    the shared backend (fail-open): admitted, its ``remaining`` unknown, and reported in
    no header. ``charged_at`` is the backend's stamp of the charge in its window, which a
    refund names (None when nothing can be refunded). A NamedTuple: one is built per
    request, and that is several times cheaper than a frozen dataclass.
    """

    limit: LimitName
    is_allowed: bool
    quota: int
    remaining: int
    reset_seconds: int
    cost: int = 1
    is_degraded: bool = False
    charged_at: float | None = None

    @property
    def window_seconds(self) -> int:
        return WINDOW_SECONDS[self.limit]

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds a refused client should wait (at least 1)."""
        return max(1, self.reset_seconds)

    def policy_item(self) -> str:
        """This limit as one member of the ``RateLimit-Policy`` list."""
        return policy_item(self.limit, self.quota)

    def state_item(self) -> str:
        """This limit as one member of the ``RateLimit`` list."""
        return f"{_QUOTED_NAMES[self.limit]};r={self.remaining};t={self.reset_seconds}"

    def headers(self) -> dict[str, str]:
        """``RateLimit-Policy`` and ``RateLimit`` (plus ``Retry-After`` when refused).

        None for a degraded decision: the allowance was never checked, so a header would
        claim a state nobody knows (and would tell clients when limits are off).
        """
        if self.is_degraded:
            return {}
        found = {POLICY_HEADER: self.policy_item(), STATE_HEADER: self.state_item()}
        if not self.is_allowed:
            found["Retry-After"] = str(self.retry_after_seconds)
        return found

    def to_error(self) -> IntelGraphError:
        """The client-facing error for a refusal (429 with Retry-After and RateLimit headers)."""
        return IntelGraphError(
            _ERROR_CODES[self.limit],
            self._message(),
            details={
                "limit": self.limit.value,
                "quota": self.quota,
                "windowSeconds": self.window_seconds,
                "retryAfter": self.retry_after_seconds,
            },
            headers=self.headers(),
        )

    def raise_if_refused(self) -> None:
        """Raise the decision's IntelGraphError (QUOTA_EXCEEDED, INGEST_RATE_EXCEEDED or
        EGRESS_LIMIT_EXCEEDED) unless it admitted the request."""
        if not self.is_allowed:
            raise self.to_error()

    def _message(self) -> str:
        wait = self.retry_after_seconds
        if self.limit is LimitName.API_RPM:
            return (
                f"api_rpm quota exceeded: this tenant may make {self.quota} API requests "
                f"per minute; retry in {wait} s"
            )
        if self.limit is LimitName.INGEST_EPS:
            if self.cost > self.quota:
                return (
                    f"ingest_eps limit exceeded: this batch has {self.cost} records, more than "
                    f"the {self.quota} per second allowed; a batch that large is admitted only "
                    f"when no other ingest ran in the last second; retry in {wait} s"
                )
            used = self.quota - self.remaining
            return (
                f"ingest_eps limit exceeded: this tenant may ingest {self.quota} records per "
                f"second; {used} were ingested in the last second and this batch has "
                f"{self.cost}; retry in {wait} s"
            )
        gigabytes = self.quota // GIGABYTE if self.quota % GIGABYTE == 0 else self.quota / GIGABYTE
        return (
            f"egress_gb_day limit exceeded: this tenant may receive {gigabytes} GB of responses "
            f"per UTC day and has used it; it resets at 00:00 UTC, in {wait} s"
        )


@functools.lru_cache(maxsize=4096)
def policy_item(limit: LimitName, quota: int) -> str:
    """``"api_rpm";q=100;w=60``: one policy of the ``RateLimit-Policy`` list (cached: a
    tenant's policy changes only with its limits)."""
    item = f"{_QUOTED_NAMES[limit]};q={quota};w={WINDOW_SECONDS[limit]}"
    if limit is LimitName.EGRESS_GB_DAY:
        item += ';qu="content-bytes"'
    return item


def merge_header_value(existing: bytes | None, addition: bytes) -> bytes:
    """Append ``addition`` to a list-valued header (RFC 9110 §5.3 allows one combined line)."""
    return addition if not existing else existing + b", " + addition
