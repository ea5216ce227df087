"""Entity types without a packaged config, for the tests of tenant configs: generated
VEHICLE and ACCOUNT records with known truth (controlled corruptions: typos, format changes,
missing fields) and a comparisons config for each, as a tenant admin would write it."""

from __future__ import annotations

import csv
import io
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass

VEHICLE_CONFIG = """\
# Vehicles: VIN and plate identify; make, model and year support.
entity_type: VEHICLE
version: vehicle-v1
description: VIN, registration plate, make, model and year.
attributes:
  vin: identifier
  plate: identifier
  make: text
  model: text
  year: number
comparisons:
  - name: vin
    fields: [vin]
    levels:
      - {label: exact, test: exact}
      - {label: one_edit, test: damerau_levenshtein, at_most: 1}
      - {label: else, test: else}
  - name: plate
    fields: [plate]
    levels:
      - {label: exact, test: exact}
      - {label: one_edit, test: damerau_levenshtein, at_most: 1}
      - {label: else, test: else}
  - name: make
    fields: [make]
    levels:
      - {label: exact, test: exact}
      - {label: jw_0.9, test: jaro_winkler, at_least: 0.9}
      - {label: else, test: else}
  - name: model
    fields: [model]
    levels:
      - {label: exact, test: exact}
      - {label: jw_0.9, test: jaro_winkler, at_least: 0.9}
      - {label: else, test: else}
  - name: year
    fields: [year]
    levels:
      - {label: exact, test: exact}
      - {label: within_1, test: numeric_within, at_most: 1}
      - {label: else, test: else}
blocking:
  - name: vin
    keys: [{field: vin}]
  - name: plate
    keys: [{field: plate}]
  - name: vin_start
    keys: [{field: vin, transform: prefix, length: 8}]
  - name: make_model_year
    keys: [{field: make}, {field: model}, {field: year}]
training:
  em_blocking:
    - name: plate
      keys: [{field: plate}]
    - name: make_model
      keys: [{field: make}, {field: model}]
"""

ACCOUNT_CONFIG = """\
# Bank accounts: the IBAN identifies; holder and bank support.
entity_type: ACCOUNT
version: account-v1
attributes:
  iban: identifier
  holder_name: name
  bank: organization_name
comparisons:
  - name: iban
    fields: [iban]
    levels:
      - {label: exact, test: exact}
      - {label: one_edit, test: damerau_levenshtein, at_most: 1}
      - {label: else, test: else}
  - name: holder_name
    fields: [holder_name]
    levels:
      - {label: exact, test: exact}
      - {label: tokens_0.9, test: token_set, at_least: 0.9}
      - {label: jw_0.85, test: jaro_winkler, at_least: 0.85}
      - {label: else, test: else}
  - name: bank
    fields: [bank]
    levels:
      - {label: exact, test: exact}
      - {label: jw_0.9, test: jaro_winkler, at_least: 0.9}
      - {label: else, test: else}
blocking:
  - name: iban
    keys: [{field: iban}]
  - name: iban_start
    keys: [{field: iban, transform: prefix, length: 10}]
  - name: holder_sound_bank
    keys: [{field: holder_name, transform: soundex}, {field: bank}]
training:
  em_blocking:
    - name: bank_holder_start
      keys: [{field: bank}, {field: holder_name, transform: prefix, length: 2}]
    - name: iban_start
      keys: [{field: iban, transform: prefix, length: 10}]
"""

_MAKES = {
    "Toyota": ["Corolla", "Yaris", "Camry", "RAV4"],
    "Ford": ["Focus", "Fiesta", "Mondeo", "Kuga"],
    "Volkswagen": ["Golf", "Polo", "Passat", "Tiguan"],
    "Renault": ["Clio", "Megane", "Captur"],
    "Honda": ["Civic", "Jazz", "Accord"],
    "Skoda": ["Octavia", "Fabia", "Superb"],
}
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_GIVEN = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken"]
_SURNAMES = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus"]
_BANKS = ["Barclays Bank PLC", "Lloyds Bank", "HSBC UK Bank plc", "Monzo Bank Ltd", "Starling"]


@dataclass(frozen=True)
class GeneratedRecord:
    """One generated record of a configured type, with the cluster it truly belongs to."""

    record_id: str
    entity_type: str
    cluster_id: str
    attributes: dict[str, str]


def _typo(rng: random.Random, value: str) -> str:
    """One substituted character (never the first)."""
    if len(value) < 3:
        return value
    at = rng.randrange(1, len(value))
    pool = _VIN_CHARS if value.isupper() else string.ascii_lowercase
    return value[:at] + rng.choice([c for c in pool if c != value[at]]) + value[at + 1 :]


def generate_vehicles(n_clusters: int, seed: int) -> list[GeneratedRecord]:
    """Vehicles, each seen once to three times; copies change the plate's format, mistype
    the VIN or model, shift the year by one or drop a field."""
    rng = random.Random(f"vehicles-{seed}")
    records: list[GeneratedRecord] = []
    for cluster in range(n_clusters):
        make = rng.choice(sorted(_MAKES))
        original = {
            "vin": "".join(rng.choice(_VIN_CHARS) for _ in range(17)),
            "plate": f"{rng.choice('ABCDEFGHKLMN')}{rng.choice('ABCDEFGHKLMN')}"
            f"{rng.randrange(10, 99)} {''.join(rng.choices('BCDFGHJKLMNPRSTVWXYZ', k=3))}",
            "make": make,
            "model": rng.choice(_MAKES[make]),
            "year": str(rng.randrange(1998, 2024)),
        }
        cluster_id = f"veh-{cluster}"
        copies = [original]
        for _ in range(rng.choice((0, 1, 1, 2))):
            copy = dict(original)
            copy["plate"] = copy["plate"].replace(" ", "").lower()
            change = rng.choice(("vin", "model", "year", "missing_vin", "make"))
            if change == "vin":
                copy["vin"] = _typo(rng, copy["vin"])
            elif change == "model":
                copy["model"] = _typo(rng, copy["model"])
            elif change == "year":
                copy["year"] = str(int(copy["year"]) + rng.choice((-1, 1)))
            elif change == "missing_vin":
                del copy["vin"]
            else:
                copy["make"] = copy["make"].upper()
            copies.append(copy)
        for index, attributes in enumerate(copies):
            records.append(
                GeneratedRecord(f"v{cluster}-{index}", "VEHICLE", cluster_id, attributes)
            )
    return records


def _iban(rng: random.Random) -> str:
    digits = "".join(rng.choice(string.digits) for _ in range(14))
    return (
        f"GB{rng.randrange(10, 99)}{''.join(rng.choices('ABCDEFGHJKLMNPRSTUVWXYZ', k=4))}{digits}"
    )


def generate_accounts(n_clusters: int, seed: int) -> list[GeneratedRecord]:
    """Bank accounts, each seen once to three times; copies space the IBAN in groups of
    four, write the holder surname-first or with a typo, or shorten the bank's name."""
    rng = random.Random(f"accounts-{seed}")
    records: list[GeneratedRecord] = []
    for cluster in range(n_clusters):
        given, surname = rng.choice(_GIVEN), rng.choice(_SURNAMES)
        original = {
            "iban": _iban(rng),
            "holder_name": f"{given} {surname}",
            "bank": rng.choice(_BANKS),
        }
        cluster_id = f"acc-{cluster}"
        copies = [original]
        for _ in range(rng.choice((0, 1, 1, 2))):
            copy = dict(original)
            iban = copy["iban"]
            copy["iban"] = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            change = rng.choice(("swap", "typo", "bank", "missing_bank"))
            if change == "swap":
                copy["holder_name"] = f"{surname.upper()}, {given}"
            elif change == "typo":
                copy["holder_name"] = f"{given} {_typo(rng, surname)}"
            elif change == "bank":
                copy["bank"] = copy["bank"].split()[0]
            else:
                del copy["bank"]
            copies.append(copy)
        for index, attributes in enumerate(copies):
            records.append(
                GeneratedRecord(f"a{cluster}-{index}", "ACCOUNT", cluster_id, attributes)
            )
    return records


def golden_csv_of(records: Sequence[GeneratedRecord]) -> str:
    """The records as a golden-set CSV (attribute columns: every attribute seen)."""
    columns = sorted({name for r in records for name in r.attributes})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["record_id", "entity_type", "cluster_id", *columns])
    for record in records:
        writer.writerow(
            [
                record.record_id,
                record.entity_type,
                record.cluster_id,
                *(record.attributes.get(c, "") for c in columns),
            ]
        )
    return out.getvalue()
