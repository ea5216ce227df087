"""`intelgraph er …`: entity resolution — configs per entity type, train, evaluate, watch
drift, govern thresholds, curate clusters and work the review queue."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from intelgraph.cli.context import (
    cli_operator,
    console,
    err_console,
    friendly_errors,
    local_actor,
    local_principal,
    services,
)
from intelgraph.kernel.errors import ER_NO_MODEL, VALIDATION, IntelGraphError

# The er package (numpy, scoring) is imported inside the commands: other commands of
# `intelgraph` must not pay for it at start-up.
if TYPE_CHECKING:
    from intelgraph.er.engine.config import ResolutionConfig
    from intelgraph.er.engine.runs import GoldenEvaluation
    from intelgraph.er.governance import ThresholdsRecord
    from intelgraph.er.type_configs import TypeConfig

app = typer.Typer(help="Entity resolution: models, evaluation, drift, thresholds, review.")
golden_app = typer.Typer(help="Golden sets (labelled records) of a tenant.", no_args_is_help=True)
thresholds_app = typer.Typer(help="Versioned, approved match thresholds.", no_args_is_help=True)
review_app = typer.Typer(help="The review queue.", no_args_is_help=True)
config_app = typer.Typer(
    help="Comparisons configs per entity type (any type, e.g. VEHICLE; tenant admins).",
    no_args_is_help=True,
)
app.add_typer(golden_app, name="golden")
app.add_typer(thresholds_app, name="thresholds")
app.add_typer(review_app, name="review")
app.add_typer(config_app, name="config")

TYPE_OPTION = typer.Option(
    None,
    "--type",
    help="Entity type: PERSON, ORGANIZATION or one the tenant configured (default: all)",
)
ONE_TYPE_HELP = "Entity type: PERSON, ORGANIZATION or one the tenant configured"
REASON_OPTION = typer.Option(None, "--reason", help="Why (kept in the audit log)")
STAGES = ("load", "prepare", "train", "store")


def _types(tenant_id: str, entity_type: str | None) -> list[str]:
    """The named type, or every type the tenant resolves."""
    from intelgraph.er.engine.records import parse_entity_type

    if entity_type is None:
        return services().er.configs.resolvable_types(tenant_id)
    return [parse_entity_type(entity_type)]


def _principal_for(tenant: str) -> Any:
    """The tenant and the person at this terminal as its admin.

    The key id names the OS user, so that audit records and the two-person rule for
    thresholds tell two operators at two terminals apart.
    """
    found = services().tenants.get_tenant(tenant)
    user = local_actor().removeprefix("cli:")
    return found, replace(local_principal(found), key_id=f"cli-{user}")


# --- models and online resolution -------------------------------------------------------


@app.command("train")
@friendly_errors
def train(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = TYPE_OPTION,
    reason: str = REASON_OPTION,
) -> None:
    """Train a new model version on the tenant's records (no labels), then resolve what waits."""
    svc = services()
    found, principal = _principal_for(tenant)
    trained_any = False
    for kind in _types(found.id, entity_type):
        with Progress(
            TextColumn(f"[bold]train {kind}[/]"),
            BarColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("load", total=len(STAGES))

            def advance(stage: str, task_id: Any = task, bar: Progress = progress) -> None:
                if stage in STAGES:
                    bar.update(task_id, description=stage, completed=STAGES.index(stage))
                else:
                    bar.update(task_id, description=stage, completed=len(STAGES))

            try:
                trained = svc.er.training.train(principal, kind, reason=reason, on_progress=advance)
            except IntelGraphError as err:
                if entity_type is not None:
                    raise
                progress.stop()
                err_console.print(f"[yellow]skipped {kind}[/]: {err.message}")
                continue
        trained_any = True
        console.print(
            f"{kind}: model v{trained.seq} ({trained.model_version}) trained on "
            f"{trained.record_count} records in {trained.seconds:.2f}s"
            + (
                f"; not estimated: {', '.join(trained.not_estimated)}"
                if trained.not_estimated
                else ""
            )
        )
    if not trained_any:
        raise typer.Exit(1)
    for outcome in svc.er.resolution.resolve_pending(found.id):
        if outcome.status == "RESOLVED":
            console.print(f"{outcome.entity_type}: {outcome.message}")


@app.command("status")
@friendly_errors
def status(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Per entity type: records, resolved, model, live thresholds, open review items."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    report = svc.er.resolution.status(found.id)
    if as_json:
        console.print_json(orjson.dumps(report).decode())
        return
    table = Table(title=f"entity resolution — {found.slug}")
    columns = ("type", "config", "records", "resolved", "model", "thresholds", "open review")
    for column in (*columns, "state"):
        table.add_column(column)
    for row in report:
        table.add_row(
            row["entityType"],
            "packaged" if row["configVersion"] is None else f"v{row['configVersion']}",
            str(row["records"]),
            str(row["resolved"]),
            f"v{row['modelSeq']}" if row["modelSeq"] else "—",
            f"v{row['thresholdsVersion']} ({row['autoMerge']}/{row['review']})",
            str(row["openReviewItems"]),
            row["state"],
        )
    console.print(table)


@app.command("resolve")
@friendly_errors
def resolve(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Resolve every record still waiting (what the serve worker does after each ingest)."""
    svc = services()
    found = svc.tenants.get_tenant(tenant)
    for outcome in svc.er.resolution.resolve_pending(found.id):
        console.print(f"{outcome.entity_type}: {outcome.status.lower()} — {outcome.message}")


@app.command("explain")
@friendly_errors
def explain_pair(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    a: str = typer.Argument(..., help="Entity id"),
    b: str = typer.Argument(..., help="Entity id"),
) -> None:
    """Why two entities match or not: each comparison's level and weight."""
    _, principal = _principal_for(tenant)
    found = services().er.resolution.explain_match(principal, a, b)
    table = Table(title=f"{a} ~ {b} ({found.entity_type}, model {found.model_version})")
    for column in ("comparison", "level", "weight", "m", "u"):
        table.add_column(column)
    for vote in found.comparisons:
        table.add_row(
            vote.comparison,
            vote.level,
            f"{vote.weight:+.3f}",
            "—" if vote.m is None else f"{vote.m:.4f}",
            "—" if vote.u is None else f"{vote.u:.4f}",
        )
    console.print(table)
    console.print(
        f"prior {found.prior_weight:+.3f}, total weight {found.match_weight:+.3f}, "
        f"probability {found.match_probability:.6f} → {found.decision} "
        f"(thresholds v{found.thresholds_version})"
    )


# --- clusters ---------------------------------------------------------------------------


@app.command("split")
@friendly_errors
def split(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_ids: list[str] = typer.Argument(..., help="Entities to detach (one cluster)"),
    reason: str = REASON_OPTION,
) -> None:
    """Detach entities from their cluster into a new one (audited; `er revert` undoes it)."""
    _, principal = _principal_for(tenant)
    event = services().er.clustering.split(principal, entity_ids, reason=reason)
    console.print(
        f"split {len(event.after)} entit{'y' if len(event.after) == 1 else 'ies'} into "
        f"cluster {event.cluster_id} (event {event.id}; undo with `intelgraph er revert "
        f"{tenant} {event.id}`)"
    )


@app.command("revert")
@friendly_errors
def revert(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    event_id: str = typer.Argument(..., help="Merge or split event id"),
    reason: str = REASON_OPTION,
) -> None:
    """Undo a merge or split event (audited)."""
    _, principal = _principal_for(tenant)
    event = services().er.clustering.revert(principal, event_id, reason=reason)
    console.print(f"reverted {event_id}: {len(event.after)} record(s) moved back ({event.id})")


# --- configs per entity type ------------------------------------------------------------


def _config_label(found: TypeConfig) -> str:
    if found.version is None:
        return f"packaged default ({found.config.version})"
    return f"v{found.version} ({found.config.version})"


@config_app.command("set")
@friendly_errors
def config_set(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    file: Path = typer.Argument(..., help="Comparisons config (YAML or JSON)"),
    entity_type: str = typer.Option(
        None, "--type", help="Entity type the file is for (default: its entity_type)"
    ),
    reason: str = REASON_OPTION,
) -> None:
    """Validate a comparisons config and store it as the tenant's next version for its type
    (audited). Nothing is stored when any part of the file is wrong."""
    try:
        document = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IntelGraphError(VALIDATION, f"cannot read ER config {file}: {exc}") from None
    found, principal = _principal_for(tenant)
    svc = services()
    change = svc.er.configs.set(
        principal, document, entity_type=entity_type, reason=reason, source=str(file)
    )
    stored = change.config
    if not change.is_changed:
        console.print(f"{stored.entity_type}: config {_config_label(stored)} is already live")
        return
    console.print(f"{stored.entity_type}: stored config {_config_label(stored)}")
    if change.needs_training:
        console.print(
            f"no {stored.entity_type} model fits it yet: run `intelgraph er train {found.slug} "
            f"--type {stored.entity_type}` (or it trains on the next ingest once the tenant "
            f"holds {svc.er.training.min_training_records} {stored.entity_type} entities)"
        )
    else:
        console.print("the live model fits it: it is used from now on")


@config_app.command("show")
@friendly_errors
def config_show(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = typer.Option(..., "--type", help=ONE_TYPE_HELP),
    version: int = typer.Option(None, "--version", min=1, help="A stored version (default: live)"),
    as_json: bool = typer.Option(False, "--json", help="Print the validated config as JSON"),
) -> None:
    """The live config of a type (or a stored version): the document as it was given."""
    import orjson

    _, principal = _principal_for(tenant)
    found = services().er.configs.get(principal, entity_type, version)
    if as_json:
        console.print_json(orjson.dumps(found.as_dict(with_document=True)).decode())
        return
    who = "" if found.created_by is None else f" set by {found.created_by}"
    when = "" if found.created_at is None else f" at {found.created_at.isoformat()}"
    console.print(f"[bold]{found.entity_type}[/]: {_config_label(found)}{who}{when}")
    if found.reason:
        console.print(f"why: {escape(found.reason)}")
    console.print(found.document or "", markup=False, highlight=False)


@config_app.command("list")
@friendly_errors
def config_list(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """Every stored config version of the tenant, and the packaged defaults it uses."""
    _, principal = _principal_for(tenant)
    listed = services().er.configs.listing(principal)
    live = {c.entity_type: c.version for c in listed}  # the last of each type is live
    table = Table()
    for column in ("type", "version", "config", "live", "set by", "when", "why"):
        table.add_column(column)
    for found in listed:
        table.add_row(
            found.entity_type,
            "packaged" if found.version is None else f"v{found.version}",
            found.config.version,
            "yes" if live[found.entity_type] == found.version else "",
            found.created_by or "—",
            "—" if found.created_at is None else found.created_at.isoformat(timespec="minutes"),
            escape(found.reason or ""),
        )
    console.print(table)


# --- golden sets and evaluation ---------------------------------------------------------


@golden_app.command("add")
@friendly_errors
def golden_add(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    file: Path = typer.Argument(..., help="CSV: record_id, entity_type, cluster_id, attributes"),
    name: str = typer.Option(None, "--name", help="Name (default: the file name)"),
) -> None:
    """Register a golden set for the tenant (a bad file is refused as a whole)."""
    from intelgraph.er.engine.golden import load_golden_set

    load_golden_set(file)  # a bad or unreadable file is refused before touching the store
    _, principal = _principal_for(tenant)
    text = file.read_text(encoding="utf-8-sig")
    added = services().er.evaluation.add_golden_set(principal, text, name=name or file.name)
    counts = ", ".join(f"{n} {t}" for t, n in sorted(added["records"].items()))
    console.print(f"golden set {added['id']} ({added['name']}): {counts}")


@golden_app.command("list")
@friendly_errors
def golden_list(tenant: str = typer.Argument(..., help="Tenant slug or id")) -> None:
    """The tenant's golden sets."""
    _, principal = _principal_for(tenant)
    table = Table()
    for column in ("id", "name", "records", "added by", "added"):
        table.add_column(column)
    for golden in services().er.evaluation.golden_sets(principal):
        counts = ", ".join(f"{n} {t}" for t, n in sorted(golden["records"].items()))
        table.add_row(
            golden["id"], golden["name"], counts, golden["createdBy"], golden["createdAt"]
        )
    console.print(table)


def _eval_config(
    kind: str, given: ResolutionConfig | None, tenant_id: str | None
) -> ResolutionConfig:
    """The config to evaluate ``kind`` with: --config if it is for that type, else the
    tenant's live config (with --tenant), else the packaged default."""
    from intelgraph.er.engine.config import default_config

    if given is not None and given.entity_type == kind:
        return given
    if tenant_id is not None:
        return services().er.configs.config_for(tenant_id, kind)
    return default_config(kind)


def _print_evaluation(result: GoldenEvaluation, source: str) -> None:
    metrics = result.metrics()
    table = Table(title=f"{source} — {result.entity_type}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    pairwise, bcubed = metrics["pairwise"], metrics["bcubed"]
    rows = [
        ("records", str(metrics["records"])),
        ("true clusters", str(metrics["trueClusters"])),
        ("predicted clusters", str(metrics["predictedClusters"])),
        ("candidate pairs", str(metrics["candidatePairs"])),
        ("pairwise precision", f"{pairwise['precision']:.4f}"),
        ("pairwise recall", f"{pairwise['recall']:.4f}"),
        ("pairwise F1", f"[bold]{pairwise['f1']:.4f}[/]"),
        ("B-cubed precision", f"{bcubed['precision']:.4f}"),
        ("B-cubed recall", f"{bcubed['recall']:.4f}"),
        ("B-cubed F1", f"{bcubed['f1']:.4f}"),
        (
            "blocking recall",
            "—" if metrics["blockingRecall"] is None else f"{metrics['blockingRecall']:.4f}",
        ),
        (
            "model",
            f"{metrics['modelVersion']}{' (trained here)' if result.is_trained_here else ''}",
        ),
        ("thresholds", f"{result.thresholds.auto_merge} / {result.thresholds.review}"),
    ]
    rows += [(f"time: {stage}", f"{seconds:.3f}s") for stage, seconds in metrics["timings"].items()]
    for measure, value in rows:
        table.add_row(measure, value)
    console.print(table)


@app.command("eval")
@friendly_errors
def evaluate(
    golden: Path = typer.Option(..., "--golden", help="Golden set CSV"),
    config: Path = typer.Option(None, "--config", help="Comparisons config (YAML/JSON)"),
    tenant: str = typer.Option(None, "--tenant", help="Use this tenant's model and thresholds"),
    json_out: Path = typer.Option(None, "--json", help="Also write the results as JSON here"),
) -> None:
    """Resolve a golden set and report P/R/F1, B-cubed, blocking recall and timings.

    Without --tenant the records are resolved on their own (nothing is stored): a model is
    trained on them without looking at cluster_id. With --tenant, that tenant's live model,
    thresholds and configs are used. --config gives the comparisons config of the type it
    declares (needed for a type without a packaged default, e.g. VEHICLE).
    """
    from intelgraph.er.engine.config import load_config
    from intelgraph.er.engine.golden import load_golden_set
    from intelgraph.er.engine.runs import evaluate_golden

    started = time.perf_counter()
    golden_set = load_golden_set(golden)
    given = load_config(config) if config is not None else None
    if given is not None and given.entity_type not in golden_set.entity_types:
        raise IntelGraphError(
            VALIDATION,
            f"config {config} is for {given.entity_type}, but {golden.name} holds records of "
            f"{', '.join(golden_set.entity_types)} only",
        )
    found = services().tenants.get_tenant(tenant) if tenant is not None else None
    tenant_id = None if found is None else found.id
    # Every type's config first: a type without one is refused before any work is done.
    configs = {kind: _eval_config(kind, given, tenant_id) for kind in golden_set.entity_types}
    results = []
    for kind, kind_config in configs.items():
        model = thresholds = None
        if found is not None:
            svc = services()
            live = svc.er.training.live_model(found.id, kind)
            if live is None:
                raise IntelGraphError(
                    ER_NO_MODEL,
                    f"tenant {found.slug} has no {kind} model fitting its live config; "
                    f"run `intelgraph er train {found.slug} --type {kind}`",
                )
            model = live[1]
            thresholds = svc.er.thresholds.active(found.id, kind).thresholds
        with console.status(f"resolving {kind} records…"):
            result = evaluate_golden(
                golden_set, kind, kind_config, model=model, thresholds=thresholds
            )
        _print_evaluation(result, golden.name)
        results.append(result.metrics())
    console.print(f"done in {time.perf_counter() - started:.2f}s")
    if json_out is not None:
        payload = {"goldenSet": str(golden), "tenant": tenant, "results": results}
        json_out.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
        console.print(f"wrote {json_out}")


@app.command("eval-nightly")
@friendly_errors
def eval_nightly(
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant (default: all)"),
) -> None:
    """Run the nightly evaluation now: golden sets with the live model, runs, drift alerts."""
    svc = services()
    wanted = None if tenant is None else [svc.tenants.get_tenant(tenant).id]
    with console.status("evaluating golden sets…"):
        report = svc.er.drift.run_nightly(wanted)
    if report.is_locked_out:
        err_console.print("another replica is running the nightly evaluation; try later")
        raise typer.Exit(1)
    table = Table(title=f"nightly evaluation ({report.seconds:.2f}s)")
    for column in ("tenant", "type", "golden set", "records", "precision", "recall", "F1", "s"):
        table.add_column(column)
    for run in report.runs:
        pairwise = run.metrics["pairwise"]
        table.add_row(
            run.tenant_id,
            run.entity_type,
            str(run.metrics.get("goldenSet", run.golden_id)),
            str(run.record_count),
            f"{pairwise['precision']:.4f}",
            f"{pairwise['recall']:.4f}",
            f"{run.f1:.4f}",
            f"{run.duration_seconds:.2f}",
        )
    console.print(table)
    for line in report.skipped:
        err_console.print(f"[yellow]skipped[/] {line}")
    for alert in report.alerts:
        err_console.print(
            f"[bold red]ALERT[/] {alert.tenant_id} {alert.entity_type} {alert.kind}: "
            f"{alert.message}"
        )


@app.command("drift")
@friendly_errors
def drift(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = typer.Option("PERSON", "--type", help=ONE_TYPE_HELP),
    out: Path = typer.Option(None, "--out", help="Write the chart to FILE.html, .svg or .png"),
) -> None:
    """F1 over time with the alert line, the drift checks' current measures and recent
    alerts, in the terminal (or the chart written to a file)."""
    from intelgraph.er.charts import ChartPoint, F1Chart, terminal_chart, write_chart

    svc = services()
    found = svc.tenants.get_tenant(tenant)
    history = svc.er.drift.history(found.id, entity_type)
    f1_alert_runs = {a.run_id for a in history.alerts if a.kind == "F1_DROP"}
    chart = F1Chart(
        title=f"{found.slug} {history.entity_type}: F1 on golden sets",
        points=[
            ChartPoint(
                r.started_at,
                r.f1,
                str(r.metrics.get("goldenSet", r.golden_id)),
                r.id in f1_alert_runs,
            )
            for r in history.runs
        ],
        baseline=history.baseline_f1,
        alert_line=history.alert_line,
    )
    if out is not None:
        write_chart(chart, out)
        console.print(f"wrote {out}")
        return
    console.print(terminal_chart(chart))
    if history.findings:
        checks = Table(title="drift checks now (input drift: last day against the baseline window)")
        for column in ("check", "value", "bound", "state", "detail"):
            checks.add_column(column)
        for finding in history.findings:
            checks.add_row(
                finding.kind.value,
                f"{finding.value:.3f}",
                f"{finding.threshold:.3f}",
                "[bold red]ALERT[/]" if finding.is_alert else "ok",
                finding.message,
            )
        console.print(checks)
    if history.alerts:
        table = Table(title="recent alerts")
        for column in ("when", "kind", "message"):
            table.add_column(column)
        for alert in history.alerts[:10]:
            table.add_row(alert.created_at.isoformat(timespec="minutes"), alert.kind, alert.message)
        console.print(table)


# --- thresholds -------------------------------------------------------------------------


def _print_thresholds(record: ThresholdsRecord, verb: str) -> None:
    console.print(
        f"{verb} {record.entity_type} thresholds v{record.version} ({record.id}): "
        f"auto_merge {record.thresholds.auto_merge}, review {record.thresholds.review} "
        f"[{record.status.value}]"
    )


@thresholds_app.command("list")
@friendly_errors
def thresholds_list(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = TYPE_OPTION,
) -> None:
    """Every thresholds version: values, status, who proposed and approved it, and why."""
    _, principal = _principal_for(tenant)
    table = Table()
    for column in (
        "id",
        "type",
        "v",
        "auto_merge",
        "review",
        "status",
        "proposed by",
        "decided by",
        "why",
    ):
        table.add_column(column)
    for record in services().er.thresholds.history(principal, entity_type):
        table.add_row(
            record.id,
            record.entity_type,
            str(record.version),
            str(record.thresholds.auto_merge),
            str(record.thresholds.review),
            record.status.value,
            record.proposed_by,
            record.decided_by or "—",
            record.decision_reason or record.reason or "",
        )
    console.print(table)


@thresholds_app.command("suggest")
@friendly_errors
def thresholds_suggest(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = typer.Option(..., "--type", help=ONE_TYPE_HELP),
    precision_floor: float = typer.Option(0.985, "--precision-floor", min=0.0, max=1.0),
    reason: str = REASON_OPTION,
) -> None:
    """Propose the threshold with the best cluster F1 above the precision floor (not applied)."""
    _, principal = _principal_for(tenant)
    record = services().er.thresholds.suggest(
        principal, entity_type, precision_floor=precision_floor, reason=reason
    )
    _print_thresholds(record, "proposed")
    expected = record.expected or {}
    console.print(
        f"expected on {expected.get('goldenSet')}: precision {expected.get('precision', 0):.4f}, "
        f"recall {expected.get('recall', 0):.4f}, F1 {expected.get('f1', 0):.4f}"
    )
    console.print(
        f"nothing changes until another admin runs "
        f"`intelgraph er thresholds approve {record.id} --reason …`"
    )


@thresholds_app.command("propose")
@friendly_errors
def thresholds_propose(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = typer.Option(..., "--type", help=ONE_TYPE_HELP),
    auto_merge: float = typer.Option(..., "--auto-merge"),
    review: float = typer.Option(..., "--review"),
    reason: str = REASON_OPTION,
) -> None:
    """Propose thresholds by hand (they need another admin's approval)."""
    _, principal = _principal_for(tenant)
    record = services().er.thresholds.propose(
        principal, entity_type, auto_merge=auto_merge, review=review, reason=reason
    )
    _print_thresholds(record, "proposed")


@thresholds_app.command("approve")
@friendly_errors
def thresholds_approve(
    thresholds_id: str = typer.Argument(..., help="Id of the proposal"),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit log)"),
) -> None:
    """Approve a proposal: it becomes live (the proposer may not approve it)."""
    svc = services()
    tenant_id = svc.er.thresholds.tenant_of(thresholds_id)
    _, principal = _principal_for(tenant_id)
    record = svc.er.thresholds.approve(principal, thresholds_id, reason=reason)
    _print_thresholds(record, "approved")
    for golden_id, baseline in record.baselines.items():
        console.print(f"baseline F1 on {golden_id}: {baseline['f1']:.4f}")


@thresholds_app.command("reject")
@friendly_errors
def thresholds_reject(
    thresholds_id: str = typer.Argument(..., help="Id of the proposal"),
    reason: str = REASON_OPTION,
) -> None:
    """Turn a proposal down."""
    svc = services()
    _, principal = _principal_for(svc.er.thresholds.tenant_of(thresholds_id))
    _print_thresholds(svc.er.thresholds.reject(principal, thresholds_id, reason=reason), "rejected")


@thresholds_app.command("rollback")
@friendly_errors
def thresholds_rollback(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    entity_type: str = typer.Option(..., "--type", help=ONE_TYPE_HELP),
    reason: str = REASON_OPTION,
) -> None:
    """Restore the previously approved thresholds at once (audited, timed)."""
    _, principal = _principal_for(tenant)
    done = services().er.thresholds.rollback(principal, entity_type, reason=reason)
    console.print(
        f"rolled back {done.restored.entity_type} thresholds v{done.undone.version} → "
        f"v{done.restored.version} (auto_merge {done.restored.thresholds.auto_merge}, review "
        f"{done.restored.thresholds.review}) in {done.seconds * 1000:.1f} ms; "
        "decisions from now on use it"
    )


@app.command("suggestions")
@friendly_errors
def suggestions(
    state: str = typer.Argument(..., help="on or off: threshold suggestions for every tenant"),
    reason: str = REASON_OPTION,
) -> None:
    """The feature flag for threshold suggestions (platform-wide, audited)."""
    from intelgraph.er.governance import SUGGESTIONS_SETTING

    if state not in ("on", "off"):
        raise typer.BadParameter("state must be on or off")
    services().platform.set(cli_operator(), SUGGESTIONS_SETTING, state == "on", reason=reason)
    console.print(f"threshold suggestions: {state}")


# --- review queue -----------------------------------------------------------------------


@review_app.command("list")
@friendly_errors
def review_list(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    item_status: str = typer.Option("OPEN", "--status", help="OPEN, APPROVED or REJECTED"),
    entity_type: str = typer.Option(None, "--type"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
) -> None:
    """Pairs in the review band and components held by the chaining guard."""
    _, principal = _principal_for(tenant)
    items = services().er.clustering.review_items(
        principal, status=item_status, entity_type=entity_type, limit=limit
    )
    table = Table()
    for column in ("id", "type", "kind", "members", "probability", "reason", "status"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.id,
            item.entity_type,
            item.kind.value,
            ", ".join(item.members),
            "—" if item.match_probability is None else f"{item.match_probability:.4f}",
            item.reason,
            item.status.value,
        )
    console.print(table)


@review_app.command("approve")
@friendly_errors
def review_approve(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    item_id: str = typer.Argument(..., help="Review item id"),
    reason: str = REASON_OPTION,
) -> None:
    """Merge the item's records (audited)."""
    _, principal = _principal_for(tenant)
    item = services().er.clustering.approve_review(principal, item_id, reason=reason)
    console.print(f"approved {item.id}: merged {', '.join(item.members)}")


@review_app.command("reject")
@friendly_errors
def review_reject(
    tenant: str = typer.Argument(..., help="Tenant slug or id"),
    item_id: str = typer.Argument(..., help="Review item id"),
    reason: str = REASON_OPTION,
) -> None:
    """Keep the item's records apart from now on (audited)."""
    _, principal = _principal_for(tenant)
    item = services().er.clustering.reject_review(principal, item_id, reason=reason)
    console.print(f"rejected {item.id}: {', '.join(item.members)} kept apart")
