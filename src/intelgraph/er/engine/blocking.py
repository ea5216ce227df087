"""Blocking: candidate pairs from rules as data, never by comparing all pairs.

A rule's key is built from transformed attribute values (``soundex(surname) + year(dob)``);
records sharing a key form a block and every pair inside a block becomes a candidate. The
candidates of all rules are united. A key with a missing part puts the record in no block
of that rule. A ``tokens`` part makes one key per token (an organisation named "acme steel"
is in the blocks of "acme" and of "steel"); blocks larger than the rule's ``max_block_size``
are skipped and counted.

``BlockingIndex`` keeps the blocks of already-resolved records so that new records find
their candidates by key look-up (online resolution).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import numpy.typing as npt

from intelgraph.er.engine.config import BlockingKeySpec, BlockingRuleSpec, KeyTransform
from intelgraph.er.engine.evaluation import blocking_recall
from intelgraph.er.engine.preparation import PreparedRecords, key_feature_name, source_of

__all__ = [
    "BlockingIndex",
    "CandidatePairs",
    "blocking_recall",
    "candidate_pairs",
    "rule_keys",
]

IndexArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CandidatePairs:
    """Distinct candidate pairs as row indices with ``left < right``, and per-rule counts."""

    left: IndexArray
    right: IndexArray
    pairs_by_rule: dict[str, int] = field(default_factory=dict)
    skipped_blocks: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left)

    def id_pairs(self, record_ids: Sequence[str]) -> list[tuple[str, str]]:
        """The pairs as record-id tuples."""
        return [
            (record_ids[a], record_ids[b])
            for a, b in zip(self.left.tolist(), self.right.tolist(), strict=True)
        ]


_KEY_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _part_codes(prepared: PreparedRecords, key: BlockingKeySpec) -> npt.NDArray[np.uint64]:
    """Codes of one key part (0 when missing), from string hashes or integer features."""
    source = source_of(key.fields)
    name = key_feature_name(key.transform, key.prefix_length)
    column = prepared.feature(source, name)
    if column.dtype == object:
        return prepared.codes(source, name).view(np.uint64)
    return np.asarray(column, dtype=np.int64).view(np.uint64)


def rule_keys(
    prepared: PreparedRecords, rule: BlockingRuleSpec, rows: IndexArray | None = None
) -> tuple[IndexArray, npt.NDArray[np.uint64]]:
    """The (row, key code) memberships of ``rule`` for ``rows`` (all rows if None).

    A row with a missing key part is in no block; a ``tokens`` part makes one membership
    per token. Key codes are hashes: equal keys have equal codes.
    """
    if rows is None:
        rows = np.arange(len(prepared), dtype=np.int64)
    if any(key.transform is KeyTransform.TOKENS for key in rule.keys):
        return _token_rule_keys(prepared, rule, rows)
    keys = np.zeros(len(rows), dtype=np.uint64)
    present = np.ones(len(rows), dtype=bool)
    with np.errstate(over="ignore"):
        for key in rule.keys:
            codes = _part_codes(prepared, key)[rows]
            present &= codes != 0
            keys = keys * _KEY_MULTIPLIER + codes
    return rows[present], keys[present]


def _token_rule_keys(
    prepared: PreparedRecords, rule: BlockingRuleSpec, rows: IndexArray
) -> tuple[IndexArray, npt.NDArray[np.uint64]]:
    columns = [
        prepared.feature(source_of(key.fields), key_feature_name(key.transform, key.prefix_length))[
            rows
        ].tolist()
        for key in rule.keys
    ]
    is_tokens = [key.transform is KeyTransform.TOKENS for key in rule.keys]
    members: list[int] = []
    keys: list[int] = []
    for row, values in zip(rows.tolist(), zip(*columns, strict=True), strict=True):
        if any(v == "" or v == 0 for v in values):
            continue
        options = [
            str(v).split() if multi else [v] for v, multi in zip(values, is_tokens, strict=True)
        ]
        for combination in product(*options):
            members.append(row)
            keys.append(hash(combination) & 0xFFFFFFFFFFFFFFFF or 1)
    return np.asarray(members, dtype=np.int64), np.asarray(keys, dtype=np.uint64)


def _pairs_within(
    rows: IndexArray, keys: npt.NDArray[np.uint64], max_block_size: int
) -> tuple[IndexArray, IndexArray, int]:
    """All pairs of rows sharing a key, vectorised per block size; blocks too big skipped."""
    empty = np.zeros(0, dtype=np.int64)
    if len(rows) < 2:
        return empty, empty, 0
    order = np.argsort(keys, kind="stable")
    sorted_rows, sorted_keys = rows[order], keys[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    sizes = np.diff(np.append(starts, len(sorted_keys)))
    skipped = int((sizes > max_block_size).sum())
    lefts: list[IndexArray] = []
    rights: list[IndexArray] = []
    for size in np.unique(sizes[(sizes >= 2) & (sizes <= max_block_size)]).tolist():
        block_starts = starts[sizes == size]
        matrix = sorted_rows[block_starts[:, None] + np.arange(size)]
        upper_a, upper_b = np.triu_indices(size, 1)
        lefts.append(matrix[:, upper_a].ravel())
        rights.append(matrix[:, upper_b].ravel())
    if not lefts:
        return empty, empty, skipped
    return np.concatenate(lefts), np.concatenate(rights), skipped


def _unite(
    lefts: list[IndexArray], rights: list[IndexArray], n: int
) -> tuple[IndexArray, IndexArray]:
    """Distinct unordered pairs, as ``left < right``, without self-pairs."""
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    left = np.concatenate(lefts)
    right = np.concatenate(rights)
    low = np.minimum(left, right)
    high = np.maximum(left, right)
    keep = low != high
    codes = np.unique(low[keep] * np.int64(n) + high[keep])
    return codes // n, codes % n


def candidate_pairs(prepared: PreparedRecords, rules: Sequence[BlockingRuleSpec]) -> CandidatePairs:
    """Every pair of ``prepared`` records that shares a block under at least one rule."""
    lefts: list[IndexArray] = []
    rights: list[IndexArray] = []
    by_rule: dict[str, int] = {}
    skipped: dict[str, int] = {}
    for rule in rules:
        rows, keys = rule_keys(prepared, rule)
        left, right, skipped[rule.name] = _pairs_within(rows, keys, rule.max_block_size)
        by_rule[rule.name] = len(left)
        lefts.append(left)
        rights.append(right)
    left, right = _unite(lefts, rights, max(len(prepared), 1))
    return CandidatePairs(left, right, by_rule, skipped)


@dataclass
class BlockingIndex:
    """The blocks of already-indexed rows, per rule, growing as rows are added."""

    rules: list[BlockingRuleSpec]
    blocks: list[dict[int, list[int]]] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = [defaultdict(list) for _ in self.rules]

    def add(self, prepared: PreparedRecords, rows: IndexArray) -> None:
        """Put ``rows`` of ``prepared`` (indices into the index's row space) in their blocks."""
        for rule, blocks in zip(self.rules, self.blocks, strict=True):
            members, keys = rule_keys(prepared, rule, rows)
            for row, key in zip(members.tolist(), keys.tolist(), strict=True):
                blocks[key].append(row)
        if len(rows):
            self.size = max(self.size, int(rows.max()) + 1)

    def candidates_for(self, prepared: PreparedRecords, rows: IndexArray) -> CandidatePairs:
        """Pairs of each of ``rows`` (already added) with every row sharing one of its blocks."""
        lefts: list[IndexArray] = []
        rights: list[IndexArray] = []
        by_rule: dict[str, int] = {}
        skipped: dict[str, int] = {}
        for rule, blocks in zip(self.rules, self.blocks, strict=True):
            members, keys = rule_keys(prepared, rule, rows)
            left: list[int] = []
            right: list[int] = []
            skipped[rule.name] = 0
            for row, key in zip(members.tolist(), keys.tolist(), strict=True):
                block = blocks.get(key)
                if block is None or len(block) < 2:
                    continue
                if len(block) > rule.max_block_size:
                    skipped[rule.name] += 1
                    continue
                right.extend(block)
                left.extend([row] * len(block))
            by_rule[rule.name] = len(left)
            lefts.append(np.asarray(left, dtype=np.int64))
            rights.append(np.asarray(right, dtype=np.int64))
        left_rows, right_rows = _unite(lefts, rights, max(self.size, len(prepared), 1))
        return CandidatePairs(left_rows, right_rows, by_rule, skipped)
