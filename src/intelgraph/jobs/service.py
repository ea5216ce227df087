"""The face of the jobs area: list the scheduled jobs, pause and resume them one by one.

A pause is a row in ``job_state``, read by every replica before each run, so it holds on
all of them; a run already in flight finishes. Pausing one job never touches another (the
ER evaluation's backout, ``intelgraph jobs pause er.nightly_eval``, leaves billing alone).
Every pause and resume is asked of policy (tenant.admin: platform operators) and audited
with its actor and reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.jobs import repository as repo
from intelgraph.jobs.scheduler import JobSpec
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import JOB_NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine


@dataclass(frozen=True, slots=True)
class JobStatus:
    """One job: its schedule, whether it is paused (by whom, why) and its newest day."""

    name: str
    schedule: str
    is_paused: bool
    paused_by: str | None
    pause_reason: str | None
    changed_at: datetime | None
    last_success: date | None
    last_run: repo.JobRun | None


class JobsService:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: PolicyEngine,
        jobs: Callable[[], Sequence[JobSpec]],
    ) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._policy = policy
        self._jobs = jobs

    def list_jobs(self) -> list[JobStatus]:
        """Every scheduled job, in the order it was scheduled."""
        with self._engine.connect() as conn:
            states = repo.all_states(conn)
            runs = repo.latest_runs(conn)
            successes = {spec.name: repo.last_success(conn, spec.name) for spec in self._jobs()}
        return [
            _status(spec, states.get(spec.name), successes[spec.name], runs.get(spec.name))
            for spec in self._jobs()
        ]

    def status(self, name: str) -> JobStatus:
        """One job's status. Raises JOB_NOT_FOUND for a job the scheduler does not run."""
        self._spec(name)
        return next(job for job in self.list_jobs() if job.name == name)

    def pause(self, name: str, principal: Principal, *, reason: str) -> JobStatus:
        """Stop starting runs of this job on every replica (audited).

        Raises POLICY_DENIED without tenant.admin (platform operators), JOB_NOT_FOUND for
        an unknown job, VALIDATION without a reason."""
        return self._set_pause(name, principal, is_paused=True, reason=reason)

    def resume(self, name: str, principal: Principal, *, reason: str) -> JobStatus:
        """Let the job run again; a daily job then catches up on the days it missed
        (audited). Raises POLICY_DENIED without tenant.admin (platform operators),
        JOB_NOT_FOUND for an unknown job, VALIDATION without a reason."""
        return self._set_pause(name, principal, is_paused=False, reason=reason)

    def _set_pause(
        self, name: str, principal: Principal, *, is_paused: bool, reason: str
    ) -> JobStatus:
        self._policy.authorize(principal, Action.TENANT_ADMIN, "job", None)
        self._spec(name)
        reason = (reason or "").strip()
        if not reason:
            raise IntelGraphError(
                VALIDATION,
                "say why with --reason: the audit log keeps it",
                {"job": name},
            )
        with self._uow() as uow:
            before = repo.state_of(uow.conn, name)
            repo.set_pause(
                uow.conn,
                name,
                is_paused=is_paused,
                actor=principal.actor,
                reason=reason,
                at=uow.now,
            )
            uow.audit(
                principal,
                "job.pause" if is_paused else "job.resume",
                f"job:{name}",
                tenant_id=None,
                reason=reason,
                old_value={"is_paused": before is not None and before.is_paused},
                new_value={"is_paused": is_paused},
            )
            uow.commit()
        return self.status(name)

    def _spec(self, name: str) -> JobSpec:
        specs = list(self._jobs())
        for spec in specs:
            if spec.name == name:
                return spec
        known = [spec.name for spec in specs]
        raise IntelGraphError(
            JOB_NOT_FOUND,
            f"no scheduled job is named {name!r}; `intelgraph jobs list` shows them: "
            + ", ".join(known),
            {"job": name, "knownJobs": known},
        )


def _status(
    spec: JobSpec, state: repo.JobState | None, last_success: date | None, run: repo.JobRun | None
) -> JobStatus:
    return JobStatus(
        spec.name,
        spec.schedule,
        state is not None and state.is_paused,
        state.paused_by if state else None,
        state.pause_reason if state else None,
        state.updated_at if state and state.paused_by else None,
        last_success,
        run,
    )
