"""Fixed-width ids to node indexes, vectorised: the id-to-index step of a bulk PageRank load.

A tenant's entity ids all have one width (``new_id``: ``ent_`` and 24 characters), so the
database can hand over the node ids and the edge ends as one block of bytes each, W bytes
per id, instead of a Python string per id (10^6 relationships: 2 * 10^6 strings, and a dict
lookup each, cost more than the PageRank itself). Here each W-byte id is read as a few
64-bit words in place (numpy views over the block, no copy), hashed, looked up in an
open-addressing table of the node hashes, and the words of every hit are compared with the
node's: a hit is an exact byte match, never a hash guess. An end that is not a node gets -1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MIN_WIDTH", "FixedWidthIds"]

MIN_WIDTH = 8
"""Ids shorter than one 64-bit word are not handled here (the caller maps them as strings)."""

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_SHIFT = np.uint64(31)


class FixedWidthIds:
    """The node ids of one graph, W bytes each, in node order, with a lookup table."""

    def __init__(self, blob: bytes, width: int) -> None:
        """``blob`` holds ``len(blob) // width`` distinct ids back to back. Raises ValueError
        if the width is under ``MIN_WIDTH`` or does not divide the blob, HashCollision if two
        ids share a 64-bit hash (the caller then maps them as strings)."""
        if width < MIN_WIDTH or len(blob) % width:
            raise ValueError(f"ids of {width} bytes cannot be looked up in {len(blob)} bytes")
        self.width = width
        self._blob = blob
        words = _words(blob, width)
        self._hashes = _hash(words)
        # Each word of every node id, contiguous: the comparisons gather from these.
        self._fields = [np.ascontiguousarray(words[name]) for name in words.dtype.names or ()]
        self.count = len(self._hashes)
        if len(np.unique(self._hashes)) != self.count:
            raise HashCollision("two node ids share a 64-bit hash")
        bits = max(4, int(self.count * 4 - 1).bit_length())  # load factor <= 1/4
        self._shift = np.uint64(64 - bits)
        self._mask = np.int64((1 << bits) - 1)
        self._table = np.full(1 << bits, -1, dtype=np.int32)
        self._fill()

    def indexes_of(self, blob: bytes | bytearray | memoryview) -> npt.NDArray[np.int32]:
        """The node index of each W-byte id in ``blob``, -1 for ids that are not nodes.
        Raises ValueError if the width does not divide the blob."""
        if len(blob) % self.width:
            raise ValueError(f"{len(blob)} bytes are not whole ids of {self.width} bytes")
        words = _words(blob, self.width)
        hashes = _hash(words)
        slots = (hashes >> self._shift).astype(np.int64)
        # The first probe, for every end at once (most stop here: load factor <= 1/4).
        found = self._table[slots]
        is_occupied = found >= 0
        is_hit = is_occupied & (self._hashes[found] == hashes)  # -1 reads the last: masked
        pending = np.flatnonzero(is_occupied & ~is_hit)
        found[~is_hit] = -1
        while pending.size:  # slots of another hash: probe on; an empty slot: not a node
            slots[pending] = (slots[pending] + 1) & self._mask
            candidates = self._table[slots[pending]]
            is_occupied = candidates >= 0
            is_hit = is_occupied & (self._hashes[candidates] == hashes[pending])
            found[pending[is_hit]] = candidates[is_hit]
            pending = pending[is_occupied & ~is_hit]
        # Same hash is not same id: compare every word with the node's.
        nodes = np.maximum(found, 0)
        is_same = found >= 0
        for name, node_words in zip(words.dtype.names or (), self._fields, strict=True):
            is_same &= words[name] == node_words[nodes]
        found[~is_same] = -1
        return found

    def id_at(self, index: int) -> str:
        """The id of node ``index``."""
        start = index * self.width
        return self._blob[start : start + self.width].decode()

    def sorted_order(self) -> npt.NDArray[np.intp] | None:
        """None when the ids are in increasing byte order (as Python orders the strings);
        else the permutation that sorts them."""
        as_bytes = np.frombuffer(self._blob, dtype=f"S{self.width}")
        if bool(np.all(as_bytes[1:] > as_bytes[:-1])):
            return None
        return np.argsort(as_bytes, kind="stable")

    def _fill(self) -> None:
        """Linear probing, all nodes at once: each round every unplaced node tries its
        slot; one node wins each free slot, the others move to the next slot."""
        pending = np.arange(self.count, dtype=np.int64)
        slots = (self._hashes >> self._shift).astype(np.int64)
        while pending.size:
            is_free = self._table[slots] < 0
            free_slots, first = np.unique(slots[is_free], return_index=True)
            winners = pending[is_free][first]
            self._table[free_slots] = winners
            is_placed = np.zeros(len(pending), dtype=bool)
            is_placed[np.flatnonzero(is_free)[first]] = True
            pending, slots = pending[~is_placed], (slots[~is_placed] + 1) & self._mask


class HashCollision(ValueError):
    """Two node ids share a hash: the table cannot tell them apart."""


def _words(blob: bytes | bytearray | memoryview, width: int) -> npt.NDArray[Any]:
    """Each W-byte id as 64-bit words read in place: at 0, 8, … and a last one ending at W
    (it may overlap the one before; together they cover every byte)."""
    offsets = list(range(0, width - 7, 8))
    if offsets[-1] != width - 8:
        offsets.append(width - 8)
    dtype = np.dtype(
        {
            "names": [f"w{i}" for i in range(len(offsets))],
            "formats": [np.uint64] * len(offsets),
            "offsets": offsets,
            "itemsize": width,
        }
    )
    return np.frombuffer(blob, dtype=dtype)


def _hash(words: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    names = words.dtype.names or ()
    hashes = np.zeros(len(words), dtype=np.uint64)
    for name in names:
        hashes ^= words[name]
        hashes *= _MULTIPLIER
        hashes ^= hashes >> _SHIFT
    hashes *= _MIX
    hashes ^= hashes >> _SHIFT
    return hashes
