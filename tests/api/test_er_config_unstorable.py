"""PUT /v1/er/configs/{type}: YAML escapes that make U+0000 are refused like a raw NUL."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Harness
from er.other_types import ACCOUNT_CONFIG


@pytest.fixture(scope="module")
def harness(module_harness: Harness) -> Harness:
    """One app per backend for this module; every test makes its own tenant."""
    return module_harness


def put_config(harness: Harness, headers: dict[str, str], text: str) -> Any:
    return harness.client.put(
        "/v1/er/configs/ACCOUNT",
        json={"config": text, "reason": "accounts from the bank feed"},
        headers=headers,
    )


@pytest.mark.parametrize(
    ("escape", "field"),
    [
        ('description: "bank\\0feed"', "config.description"),
        ('description: "bank\\x00feed"', "config.description"),
        ('description: "bank\\u0000feed"', "config.description"),
        ("{label: exact, test: exact}", "config.comparisons.0.levels.0.label"),
    ],
)
def test_a_yaml_escape_that_makes_a_nul_is_refused_naming_the_field(
    harness: Harness, escape: str, field: str
) -> None:
    tenant = harness.new_tenant()
    if escape.startswith("{label"):
        text = ACCOUNT_CONFIG.replace(escape, '{label: "ex\\0act", test: exact}', 1)
    else:
        text = ACCOUNT_CONFIG.replace("version: account-v1\n", f"version: account-v1\n{escape}\n")
    assert text != ACCOUNT_CONFIG

    refused = put_config(harness, tenant.headers, text)
    shown = harness.client.get("/v1/er/configs/ACCOUNT", headers=tenant.headers)

    assert refused.status_code == 400, refused.text
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSTORABLE_VALUE"
    assert error["extensions"]["field"] == field, error
    assert "U+0000" in error["message"]
    assert shown.status_code != 200 or shown.json()["config"]["origin"] != "tenant", shown.text


def test_the_same_config_without_the_escape_is_stored(harness: Harness) -> None:
    tenant = harness.new_tenant()

    stored = put_config(harness, tenant.headers, ACCOUNT_CONFIG)

    assert stored.status_code == 201, stored.text
