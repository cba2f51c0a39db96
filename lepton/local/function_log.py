"""`lepton up`'s function log: what its functions print (their stdout in Lambda), in
.lepton/logs/functions.log, bounded in size.

Every line a developer reads is written in full: the functions' log records (errors and
warnings, model loads, deployment decisions), tracebacks and prints. The metric lines (EMF),
one per request, all go on to the local CloudWatch (emf_agent.py, through ``forward_to``); the file
keeps one per function every ``metrics_every`` seconds, followed by how many of that function's
it left out. The file is rotated at ``max_bytes`` with ``backups`` older files kept
(functions.log.1, .2, ...), so the logs never take more than (backups + 1) × max_bytes.
"""
from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path

import orjson

from .emf import EMF_MARKER

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
METRICS_EVERY_SECONDS = 10.0

_SERVICE = '"service":'


class FunctionLog(io.TextIOBase):
    """A stdout for the functions: whole lines, from any thread, to a rotating file."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backups: int = BACKUPS,
                 metrics_every: float = METRICS_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        self._file.setFormatter(logging.Formatter("%(message)s"))
        self.metrics_every = metrics_every
        self.clock = clock
        self._forward: Callable[[str], None] | None = None
        self._partial: dict[int, str] = {}  # by thread: a line one thread is still writing
        self._shown: dict[str, float] = {}  # function (EMF "service") -> when its last metric line was written
        self._left_out: dict[str, int] = {}

    def forward_to(self, feed: Callable[[str], None]) -> None:
        """Hand every metric line to ``feed`` (on its way to the local CloudWatch) from now on."""
        self._forward = feed

    def write(self, text: str) -> int:
        thread = threading.get_ident()
        *lines, rest = (self._partial.pop(thread, "") + text if self._partial else text).split("\n")
        if rest:
            self._partial[thread] = rest
        for line in lines:
            self._line(line)
        return len(text)

    def _line(self, line: str) -> None:
        if line.startswith(EMF_MARKER):
            if self._forward is not None:
                self._forward(line)
            service = _service(line)
            now = self.clock()
            if now - self._shown.get(service, float("-inf")) < self.metrics_every:
                self._left_out[service] = self._left_out.get(service, 0) + 1
                return
            self._shown[service] = now
            left_out = self._left_out.pop(service, 0)
            if left_out:
                self._emit(orjson.dumps({
                    "level": "INFO", "service": service, "left_out": left_out,
                    "message": f"{left_out} more metric line(s) of {service} since the last one in this file "
                               "(every one went to the local CloudWatch)"}).decode())
        self._emit(line)

    def _emit(self, line: str) -> None:
        self._file.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO, "levelname": "INFO"}))

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:  # for libraries that ask stdout for one (the current file's)
        return self._file.stream.fileno()

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()
        super().close()


def _service(line: str) -> str:
    """The function an EMF line is from (its "service" dimension), without parsing the line."""
    at = line.rfind(_SERVICE)
    if at < 0:
        return ""
    start = line.find('"', at + len(_SERVICE)) + 1  # past the colon and any space
    return line[start:line.find('"', start)]
