"""A tenant admin gives any entity type a comparisons config (REST), versioned and audited;
training, online resolution and the nightly evaluation of that type then use it."""

from __future__ import annotations

from typing import Any

import yaml

from conftest import Harness, TenantHandle
from er.other_types import ACCOUNT_CONFIG, GeneratedRecord, generate_accounts, golden_csv_of

from .support import canonical_ids, headers

ACCOUNTS = generate_accounts(60, 11)


def account_line(record: GeneratedRecord) -> dict[str, Any]:
    return {
        "kind": "entity",
        "external_id": record.record_id,
        "type": "ACCOUNT",
        "label": record.attributes["holder_name"],
        "attributes": record.attributes,
        "source": "bank",
    }


def _set(harness: Harness, key: str, entity_type: str, config: Any, reason: str = "") -> Any:
    return harness.client.put(
        f"/v1/er/configs/{entity_type}",
        json={"config": config, "reason": reason or "accounts from the bank feed"},
        headers=headers(key),
    )


def _ingest(harness: Harness, key: str, records: list[GeneratedRecord]) -> dict[str, str]:
    response = harness.ingest(key, [account_line(r) for r in records])
    assert response.status_code == 200, response.text
    ids: dict[str, str] = response.json()["ids"]
    return ids


def _train(harness: Harness, key: str, entity_type: str = "ACCOUNT") -> dict[str, Any]:
    trained = harness.client.post(
        "/v1/er/models/train", json={"type": entity_type}, headers=headers(key)
    )
    assert trained.status_code == 201, trained.text
    harness.services.er.resolution.drain()
    model: dict[str, Any] = trained.json()["model"]
    return model


def _pairwise(truth: dict[str, str], predicted: dict[str, str | None]) -> tuple[float, float]:
    """Pairwise precision and recall of predicted clusters against the truth."""
    ids = sorted(truth)
    true_pairs = {(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :] if truth[a] == truth[b]}
    found = {
        (a, b)
        for i, a in enumerate(ids)
        for b in ids[i + 1 :]
        if predicted[a] is not None and predicted[a] == predicted[b]
    }
    hits = len(true_pairs & found)
    return hits / max(len(found), 1), hits / max(len(true_pairs), 1)


def _audit_actions(harness: Harness, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = harness.client.get("/v1/admin/audit", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [r for r in response.json()["records"] if r["action"] == "er.config.set"]


def test_a_tenant_admins_config_for_a_new_type_drives_training_online_resolution_and_evaluation(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()

    stored = _set(harness, tenant.admin_key, "ACCOUNT", ACCOUNT_CONFIG)

    assert stored.status_code == 201, stored.text
    body = stored.json()
    assert body["changed"] is True and body["needsTraining"] is True
    assert body["config"]["version"] == 1 and body["config"]["configVersion"] == "account-v1"
    [audited] = _audit_actions(harness, tenant)
    assert audited["target"] == "er_config:ACCOUNT:v1"
    assert audited["reason"] == "accounts from the bank feed"

    early = list(ACCOUNTS)
    ids = _ingest(harness, tenant.admin_key, early)
    model = _train(harness, tenant.admin_key)
    assert model["entityType"] == "ACCOUNT" and model["records"] == len(early)

    found = canonical_ids(harness, tenant.admin_key, list(ids.values()))
    predicted = {r.record_id: found[ids[r.record_id]] for r in early}
    precision, recall = _pairwise({r.record_id: r.cluster_id for r in early}, predicted)
    assert all(predicted.values()), "every account has a canonical id"
    assert precision >= 0.98 and recall >= 0.85, (precision, recall)

    # A copy of a known account arriving later is resolved online into its cluster.
    twin = early[0]
    iban = twin.attributes["iban"]
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    again = GeneratedRecord(
        "late-copy", "ACCOUNT", twin.cluster_id, twin.attributes | {"iban": spaced}
    )
    late_ids = _ingest(harness, tenant.admin_key, [again])
    harness.services.er.resolution.drain()
    late_found = canonical_ids(harness, tenant.admin_key, [late_ids["late-copy"]])
    assert late_found[late_ids["late-copy"]] == found[ids[twin.record_id]]

    # The nightly evaluation measures the type on the tenant's golden set, with its config.
    golden = harness.client.post(
        "/v1/er/golden-sets?name=accounts.csv",
        content=golden_csv_of(generate_accounts(50, 23)),
        headers=headers(tenant.admin_key) | {"content-type": "text/csv"},
    )
    assert golden.status_code == 201, golden.text
    report = harness.services.er.drift.run_nightly([tenant.id])
    [run] = [r for r in report.runs if r.entity_type == "ACCOUNT"]
    assert run.f1 >= 0.9 and run.model_version == model["modelVersion"]
    status = harness.client.get("/v1/er/status", headers=headers(tenant.admin_key)).json()
    account = next(t for t in status["types"] if t["entityType"] == "ACCOUNT")
    assert account["unresolved"] == 0 and account["configVersion"] == 1


def test_a_bad_config_is_refused_naming_the_problem_and_nothing_is_stored(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    good: dict[str, Any] = yaml.safe_load(ACCOUNT_CONFIG)
    unknown_comparator = yaml.safe_load(ACCOUNT_CONFIG)
    unknown_comparator["comparisons"][1]["levels"][1]["test"] = "sounds_alike"
    unknown_field = yaml.safe_load(ACCOUNT_CONFIG)
    unknown_field["comparisons"][0]["fields"] = ["account_number"]
    bad_levels = yaml.safe_load(ACCOUNT_CONFIG)
    bad_levels["comparisons"][2]["levels"] = [{"label": "else", "test": "else"}]

    refusals = {
        "comparisons[holder_name].levels[tokens_0.9].test: unknown comparator 'sounds_alike'": (
            _set(harness, tenant.admin_key, "ACCOUNT", unknown_comparator)
        ),
        "comparisons[iban].fields: unknown attribute(s) account_number": (
            _set(harness, tenant.admin_key, "ACCOUNT", unknown_field)
        ),
        "comparisons[bank].levels: List should have at least 2 items": (
            _set(harness, tenant.admin_key, "ACCOUNT", bad_levels)
        ),
        "declares entity_type ACCOUNT, but it was given for type VEHICLE": (
            _set(harness, tenant.admin_key, "VEHICLE", good)
        ),
        "is not valid YAML/JSON": _set(harness, tenant.admin_key, "ACCOUNT", "levels: [oops"),
    }

    for problem, response in refusals.items():
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "VALIDATION" and problem in error["message"], error
    listed = harness.client.get("/v1/er/configs", headers=headers(tenant.admin_key)).json()
    assert {(c["entityType"], c["origin"]) for c in listed["configs"]} == {
        ("PERSON", "packaged"),
        ("ORGANIZATION", "packaged"),
    }
    assert _audit_actions(harness, tenant) == []


def test_only_a_tenant_admin_may_set_a_config_and_other_tenants_never_see_or_use_it(
    harness: Harness,
) -> None:
    tenant, other = harness.new_tenant(), harness.new_tenant()
    analyst = harness.new_key(tenant, "analyst")
    viewer = harness.new_key(tenant, "viewer")

    refused = _set(harness, analyst, "ACCOUNT", ACCOUNT_CONFIG)
    assert refused.status_code == 403, refused.text
    assert _set(harness, tenant.admin_key, "ACCOUNT", ACCOUNT_CONFIG).status_code == 201
    shown = harness.client.get("/v1/er/configs/account", headers=headers(viewer))
    assert shown.status_code == 200 and "iban" in shown.json()["config"]["document"]

    hidden = harness.client.get("/v1/er/configs/ACCOUNT", headers=headers(other.admin_key))
    assert hidden.status_code == 404, hidden.text
    ids = _ingest(harness, other.admin_key, list(ACCOUNTS[:20]))
    harness.services.er.resolution.drain()
    untrained = harness.client.post(
        "/v1/er/models/train", json={"type": "ACCOUNT"}, headers=headers(other.admin_key)
    )
    assert untrained.status_code == 400
    assert "no entity-resolution config for ACCOUNT" in untrained.json()["errors"][0]["message"]
    assert set(canonical_ids(harness, other.admin_key, list(ids.values())).values()) == {None}


def test_a_new_config_version_is_used_from_the_next_training_and_the_same_one_changes_nothing(
    harness: Harness,
) -> None:
    tenant = harness.new_tenant()
    key = tenant.admin_key
    assert _set(harness, key, "ACCOUNT", ACCOUNT_CONFIG).status_code == 201
    ids = _ingest(harness, key, list(ACCOUNTS[:40]))
    _train(harness, key)
    a, b = ids[ACCOUNTS[0].record_id], ids[ACCOUNTS[1].record_id]
    assert harness.client.get(f"/v1/er/explain?a={a}&b={b}", headers=headers(key)).is_success

    same = _set(harness, key, "ACCOUNT", ACCOUNT_CONFIG, reason="again")
    assert same.status_code == 200 and same.json()["changed"] is False
    stricter = ACCOUNT_CONFIG.replace("version: account-v1", "version: account-v2").replace(
        "      - {label: jw_0.85, test: jaro_winkler, at_least: 0.85}\n", ""
    )
    changed = _set(harness, key, "ACCOUNT", stricter, reason="fewer fuzzy holder matches")

    assert changed.status_code == 201 and changed.json()["config"]["version"] == 2
    assert changed.json()["needsTraining"] is True
    stale = harness.client.get(f"/v1/er/explain?a={a}&b={b}", headers=headers(key))
    assert stale.status_code == 409
    assert stale.json()["errors"][0]["extensions"]["code"] == "ER_NO_MODEL"
    status = harness.client.get("/v1/er/status", headers=headers(key)).json()
    account = next(t for t in status["types"] if t["entityType"] == "ACCOUNT")
    assert "predates the live config" in account["state"]

    retrained = _train(harness, key)
    explained = harness.client.get(f"/v1/er/explain?a={a}&b={b}", headers=headers(key)).json()
    holder = next(c for c in explained["comparisons"] if c["comparison"] == "holder_name")
    assert retrained["seq"] == 2 and holder["level"] in {"exact", "tokens_0.9", "else", "null"}
    first = harness.client.get("/v1/er/configs/ACCOUNT?version=1", headers=headers(key)).json()
    assert "jw_0.85" in first["config"]["document"]
    listed = harness.client.get("/v1/er/configs", headers=headers(key)).json()["configs"]
    assert [(c["entityType"], c["version"]) for c in listed if c["origin"] == "tenant"] == [
        ("ACCOUNT", 1),
        ("ACCOUNT", 2),
    ]
    assert [a["target"] for a in _audit_actions(harness, tenant)] == [
        "er_config:ACCOUNT:v2",
        "er_config:ACCOUNT:v1",
    ]
