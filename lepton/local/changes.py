"""What changed in the local AWS, for the stack's followers to wait on instead of polling.

The local AWS (local_aws.py) serves every AWS call of the stack, of the functions it runs and
of other processes (`lepton rollback`, the aws CLI). As it serves a write that a follower cares
about, it marks that topic here: `ALIASES` when a Lambda alias is created, moved or deleted,
`DEPLOYMENTS` when a DynamoDB item is written (the deployments table). A follower
(aliases.py, feed.py) blocks in `wait` until its topic is marked, so an idle stack makes no
calls at all, and a move made by any process is seen as soon as it is served.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("lepton.local.changes")

ALIASES = "aliases"
DEPLOYMENTS = "deployments"
#: With the stack's own local AWS, followers still look this often, in case a write went unseen.
SAFETY_SECONDS = 60.0

_LAMBDA_FUNCTIONS = "/2015-03-31/functions/"
_DYNAMODB_WRITES = frozenset(f"DynamoDB_20120810.{action}" for action in (
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"))


def topic_of(environ: dict[str, Any]) -> str | None:
    """The topic a request to the local AWS changes (a WSGI environ), if any. A false positive
    only costs a follower one extra look, so the test is cheap rather than exact."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method == "GET":
        return None
    path = environ.get("PATH_INFO", "")
    if path.startswith(_LAMBDA_FUNCTIONS) and ("/aliases" in path or method == "DELETE"):
        return ALIASES
    if environ.get("HTTP_X_AMZ_TARGET") in _DYNAMODB_WRITES:
        return DEPLOYMENTS
    return None


class Changes:
    """A counter per topic; `mark` bumps one and wakes every waiter."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._counts: dict[str, int] = {}

    def mark(self, topic: str) -> None:
        with self._cond:
            self._counts[topic] = self._counts.get(topic, 0) + 1
            self._cond.notify_all()

    def count(self, topic: str) -> int:
        with self._cond:
            return self._counts.get(topic, 0)

    def wake(self) -> None:
        """Wake every waiter to look at its stop event (a follower is stopping)."""
        with self._cond:
            self._cond.notify_all()

    def wait(self, topic: str, seen: int, timeout: float | None, stop: threading.Event) -> bool:
        """Block until ``topic`` moved past ``seen``, ``stop`` is set or ``timeout`` passed;
        True unless it timed out."""
        with self._cond:
            return self._cond.wait_for(lambda: stop.is_set() or self._counts.get(topic, 0) != seen, timeout)

    def watched(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """``app`` (a WSGI app) marking the topic of each write it has served."""
        def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            topic = topic_of(environ)
            result = app(environ, start_response)  # the write is applied once the app returns
            if topic is not None:
                self.mark(topic)
            return result

        return wsgi


class Follower:
    """A daemon thread that runs ``look`` each time ``topic`` is marked, and at the latest
    every ``every`` seconds (None: only when marked)."""

    def __init__(self, changes: Changes, topic: str, look: Callable[[], None], every: float | None, name: str):
        self.changes, self.topic, self.look, self.every, self.name = changes, topic, look, every, name
        self._stop = threading.Event()

    def start(self) -> None:
        """Look once now, in the caller (its errors are the caller's), then follow."""
        seen = self.changes.count(self.topic)  # before looking: a mark during the look is not lost
        self.look()
        threading.Thread(target=self._loop, args=(seen,), name=self.name, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.changes.wake()

    def _loop(self, seen: int) -> None:
        while True:
            self.changes.wait(self.topic, seen, self.every, self._stop)
            if self._stop.is_set():
                return
            seen = self.changes.count(self.topic)
            try:
                self.look()
            except Exception as exc:  # keep the last known state; say why, look again on the next mark
                if not self._stop.is_set():  # not the local AWS going away under a stopping stack
                    log.warning("%s: %s", self.name, exc)
