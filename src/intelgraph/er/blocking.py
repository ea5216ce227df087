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
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import numpy.typing as npt

from intelgraph.er.config import BlockingRuleSpec, KeyTransform
from intelgraph.er.evaluation import blocking_recall
from intelgraph.er.preparation import PreparedRecords, key_feature_name, source_of

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
        return [(record_ids[a], record_ids[b]) for a, b in zip(self.left, self.right, strict=True)]


def _is_missing(value: object) -> bool:
    return value == "" or value == 0


def rule_keys(
    prepared: PreparedRecords, rule: BlockingRuleSpec, rows: IndexArray | None = None
) -> tuple[list[int], list[Hashable]]:
    """The (row, key) memberships of ``rule`` for ``rows`` (all rows if None)."""
    columns = []
    for key in rule.keys:
        column = prepared.feature(
            source_of(key.fields), key_feature_name(key.transform, key.prefix_length)
        )
        columns.append(column if rows is None else column[rows])
    row_ids: list[int] = list(range(len(prepared))) if rows is None else rows.tolist()
    is_multi = [key.transform is KeyTransform.TOKENS for key in rule.keys]
    members: list[int] = []
    keys: list[Hashable] = []
    if len(columns) == 1 and not is_multi[0]:
        column = columns[0]
        for row, value in zip(row_ids, column.tolist(), strict=True):
            if not _is_missing(value):
                members.append(row)
                keys.append(value)
        return members, keys
    for row, values in zip(row_ids, zip(*(c.tolist() for c in columns), strict=True), strict=True):
        if any(_is_missing(v) for v in values):
            continue
        if not any(is_multi):
            members.append(row)
            keys.append(values)
            continue
        options = [
            str(v).split() if multi else [v] for v, multi in zip(values, is_multi, strict=True)
        ]
        for combination in product(*options):
            members.append(row)
            keys.append(combination if len(combination) > 1 else combination[0])
    return members, keys


def _pairs_within(
    blocks: Iterable[list[int]], max_block_size: int
) -> tuple[IndexArray, IndexArray, int]:
    """All pairs inside each block, vectorised per block size; blocks too big are skipped."""
    by_size: dict[int, list[list[int]]] = defaultdict(list)
    skipped = 0
    for members in blocks:
        size = len(members)
        if size < 2:
            continue
        if size > max_block_size:
            skipped += 1
            continue
        by_size[size].append(members)
    lefts: list[IndexArray] = []
    rights: list[IndexArray] = []
    for size, groups in by_size.items():
        matrix = np.asarray(groups, dtype=np.int64)
        upper_a, upper_b = np.triu_indices(size, 1)
        lefts.append(matrix[:, upper_a].ravel())
        rights.append(matrix[:, upper_b].ravel())
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
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
        members, keys = rule_keys(prepared, rule)
        groups: dict[Hashable, list[int]] = defaultdict(list)
        for row, key in zip(members, keys, strict=True):
            groups[key].append(row)
        left, right, skipped[rule.name] = _pairs_within(groups.values(), rule.max_block_size)
        by_rule[rule.name] = len(left)
        lefts.append(left)
        rights.append(right)
    left, right = _unite(lefts, rights, max(len(prepared), 1))
    return CandidatePairs(left, right, by_rule, skipped)


@dataclass
class BlockingIndex:
    """The blocks of already-indexed rows, per rule, growing as rows are added."""

    rules: list[BlockingRuleSpec]
    blocks: list[dict[Hashable, list[int]]] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        if not self.blocks:
            self.blocks = [defaultdict(list) for _ in self.rules]

    def add(self, prepared: PreparedRecords, rows: IndexArray) -> None:
        """Put ``rows`` of ``prepared`` (indices into the index's row space) in their blocks."""
        for rule, blocks in zip(self.rules, self.blocks, strict=True):
            members, keys = rule_keys(prepared, rule, rows)
            for row, key in zip(members, keys, strict=True):
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
            for row, key in zip(members, keys, strict=True):
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
