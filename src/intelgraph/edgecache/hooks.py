"""Purge hooks: tell a CDN (or anything in front) about each purge, off the request path.

Each purge is POSTed as JSON to every URL of ``INTELGRAPH_CACHE_PURGE_HOOKS`` by one
background thread, with a short timeout and a few retries; a hook that stays down is
logged and counted, never allowed to slow or fail the write that caused the purge.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
ATTEMPTS = 3
TIMEOUT_SECONDS = 2.0


class PurgeHooks:
    def __init__(self, urls: Sequence[str], on_error: Callable[[], None] | None = None) -> None:
        self.urls = [url for url in urls if url]
        self._on_error = on_error or (lambda: None)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def is_enabled(self) -> bool:
        return bool(self.urls)

    def notify(self, purge: dict[str, Any]) -> None:
        """Queue one purge for every hook (dropped, and counted, if the queue is full)."""
        if not self.urls:
            return
        self._ensure_started()
        try:
            self._queue.put_nowait(purge)
        except queue.Full:
            log.error("purge hook queue full; purge notification dropped")
            self._on_error()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued purge was sent (or given up); whether it emptied in time."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cache-purge-hooks", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            while True:
                purge = self._queue.get()
                try:
                    if purge is None:
                        return
                    for url in self.urls:
                        self._post(client, url, purge)
                finally:
                    self._queue.task_done()

    def _post(self, client: httpx.Client, url: str, purge: dict[str, Any]) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = client.post(url, json=purge)
                if response.status_code < 500:
                    if response.status_code >= 400:
                        log.error(
                            "purge hook refused", extra={"url": url, "status": response.status_code}
                        )
                        self._on_error()
                    return
            except httpx.HTTPError as exc:
                if attempt == ATTEMPTS:
                    log.error("purge hook unreachable", extra={"url": url, "error": str(exc)})
                    self._on_error()
                    return
            time.sleep(0.1 * attempt)
        log.error("purge hook kept failing", extra={"url": url})
        self._on_error()
