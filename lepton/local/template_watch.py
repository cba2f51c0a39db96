"""Follow template.yaml while the local stack runs: when it changes (`lepton add`, `lepton
remove`, an edit), the stack serves what it declares now, without a restart."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("lepton.local.stack")


class TemplateWatch:
    def __init__(self, path: Path, on_change: Callable[[], object], poll_seconds: float = 1.0):
        self.path = Path(path)
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self._seen = self._stamp()
        self._stop = threading.Event()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def check(self) -> bool:
        """Call ``on_change`` if the file changed since the last look and has stopped changing."""
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._stop.wait(self.poll_seconds / 2)
        if self._stamp() != stamp:
            return False  # still being written: look again next time
        self._seen = stamp
        try:
            self.on_change()
        except Exception as exc:  # a template that does not parse: keep serving what runs, say why
            log.warning("template.yaml changed but cannot be served as it is: %s", exc)
        return True

    def start(self) -> None:
        threading.Thread(target=self._loop, name="lepton-template-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.check()
