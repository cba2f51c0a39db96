"""A background thread that gathers work into rounds: it blocks until something arrives, lets
more arrive for a window, then drains it all at once. At rest it never wakes (no polling), and
under load it wakes once a window, not once an item, so it seldom takes the GIL from requests."""
from __future__ import annotations

import threading
from collections.abc import Callable


class Gatherer:
    def __init__(self, drain: Callable[[], object], window_seconds: float, name: str):
        self.drain = drain
        self.window_seconds = window_seconds
        self.name = name
        self._arrived = threading.Event()  # set by the first arrival after the last drain
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def arrived(self) -> None:
        """Called by the producer after each item; cheap when a round is already pending."""
        if not self._arrived.is_set():
            self._arrived.set()

    def stop(self) -> None:
        """End the thread; the caller drains what is left."""
        self._stopping.set()
        self._arrived.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._arrived.wait()
            self._stopping.wait(self.window_seconds)  # what else comes within the window joins this round
            self._arrived.clear()  # before draining: an item fed from now on wakes the next round
            self.drain()
