"""Lines handed to an agent process through its stdin, a round at a time, as a log agent runs
beside a Lambda function: the EMF agent (emf_agent.py) and the capture agent (capture_agent.py).

Any thread appends a line (a deque, no lock). A gathering thread (gathering.py) wakes on the
first line after a quiet spell and hands everything waiting over in one write, so the serving
process pays a deque append per line, and the agent's parsing and AWS calls run in a process of
its own. The agent starts with the first round, so a stack that never writes a line never pays
for it. Delivery is best effort: past ``max_pending`` lines waiting, the oldest are dropped and
counted; when the agent is gone, later rounds are dropped and said once.
"""
from __future__ import annotations

import collections
import logging
import subprocess
from collections.abc import Callable

from .gathering import Gatherer


class AgentPipe:
    def __init__(self, spawn: Callable[[], subprocess.Popen[bytes]], name: str, flush_seconds: float,
                 *, max_pending: int | None = None, round_end: str = "", stop_seconds: float = 10.0):
        """``spawn`` starts the agent with a pipe on its stdin; ``round_end`` is written after each
        round (an agent that reads rounds wants a blank line); ``stop_seconds``: how long `stop`
        waits for the agent to finish the last round."""
        self.spawn = spawn
        self.name = name
        self.round_end = round_end
        self.stop_seconds = stop_seconds
        self.log = logging.getLogger(f"lepton.local.{name}")
        self.lines: collections.deque[str] = collections.deque(maxlen=max_pending)
        self.fed = self.handed = self.dropped = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._gone = False  # the agent ended: later lines are dropped, not sent to a closed pipe
        self._rounds = Gatherer(self._hand_over, flush_seconds, f"lepton-{name}")

    def start(self) -> None:
        self._rounds.start()

    def put(self, line: str) -> None:
        self.lines.append(line)
        self.fed += 1
        self._rounds.arrived()

    def stop(self) -> None:
        """Hand over what is left, then let the agent finish it and end."""
        self._rounds.stop()
        self._hand_over()
        if self._process is not None:
            try:
                self._process.stdin.close()  # type: ignore[union-attr]
                self._process.wait(timeout=self.stop_seconds)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()

    def _hand_over(self) -> None:
        batch = []
        while self.lines:
            batch.append(self.lines.popleft())
        dropped = self.fed - self.handed - len(batch) - len(self.lines)  # what the deque's bound let go
        if dropped > self.dropped:
            self.log.warning("%s behind: %d line(s) dropped so far", self.name, dropped)
            self.dropped = dropped
        self.handed += len(batch)
        if not batch or self._gone:
            return
        if self._process is None:
            self._process = self.spawn()
        try:
            self._process.stdin.write(("\n".join(batch) + "\n" + self.round_end).encode())  # type: ignore[union-attr]
            self._process.stdin.flush()  # type: ignore[union-attr]
        except (BrokenPipeError, ValueError, OSError) as exc:
            self.log.warning("%s gone (%s); %d line(s) not delivered", self.name, exc, len(batch))
            self._gone = True
