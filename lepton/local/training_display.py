"""Training the families a first start needs, each in a subprocess, shown as one bar per family
with its held-out metric at the end (the run reports through lepton_training/progress.py).

What the run writes goes to the training log (.lepton/logs/training.log): its own lines (each
fold, the test metrics) always, and with `lepton up --verbose` TensorFlow's C++ log (start-up
notices, grappler "remapper failed" errors that change nothing) and Keras' line per epoch too,
shown in the terminal as well. Each family's training report stays in its artifact folder
(report.md, metrics.json).
"""
from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

#: A training run in a subprocess: TensorFlow stays out of the serving process (3 s of imports and
#: its own thread pools). Its progress lines go to stdout, every other line too.
TRAIN = ("import logging, sys; from pathlib import Path; from lepton_training import train_family; "
         "from lepton_training.progress import ProgressLines, reporting\n"
         "logging.basicConfig(level=logging.INFO, format='%(message)s', stream=sys.stdout)\n"
         "with reporting(ProgressLines(sys.stdout)):\n"
         "    train_family(sys.argv[1], Path(sys.argv[2]), quick=sys.argv[3] == 'quick', verbose=int(sys.argv[4]))")
KEPT_LINES = 20  # of a failed run's output, shown with the error


class FamilyTrainer:
    def __init__(self, artifacts: Path, log_path: Path, *, verbose: bool = False, quick: bool = False,
                 console: Console | None = None):
        """``quick``: the families' small settings (seconds, for tests); ``console``: where the
        bars are drawn (default: stderr, where `lepton up` logs)."""
        self.artifacts = artifacts
        self.log_path = log_path
        self.verbose = verbose
        self.quick = quick
        self.console = console or Console(stderr=True)
        self._bars: Progress | None = None

    def train(self, family: str) -> None:
        """Train ``family`` into artifacts/<family>/, drawing its bar; a failure exits with its output."""
        from lepton_training.progress import read_line  # only where Lepton trains: with its training package

        bars = self._display()
        task = bars.add_task(family, total=None, metric="")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        tail: collections.deque[str] = collections.deque(maxlen=KEPT_LINES)
        with self.log_path.open("a", encoding="utf-8") as log, self._run(family) as run:
            log.write(f"--- training {family}\n")
            for line in run.stdout:
                report = read_line(line)
                if report is not None:
                    self._follow(bars, task, report)
                    continue
                log.write(line)
                tail.append(line.rstrip())
                if self.verbose:
                    bars.console.print(line.rstrip(), markup=False, highlight=False, soft_wrap=True)
        if run.returncode != 0:
            self.close()
            raise SystemExit(f"training {family} failed (exit status {run.returncode}); its last lines, all of "
                             f"them in {self.log_path}:\n" + "\n".join(tail))

    def close(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def _display(self) -> Progress:
        if self._bars is None:
            # stdout is the functions' log under `lepton up`: the bars leave it alone.
            self._bars = Progress(TextColumn("[bold]{task.description:<12}"), BarColumn(), TaskProgressColumn(),
                                  TimeElapsedColumn(), TextColumn("{task.fields[metric]}"), console=self.console,
                                  redirect_stdout=False)
            self._bars.start()
        return self._bars

    def _run(self, family: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # TensorFlow's C++ log: everything when asked for, else not even its errors (grappler's).
        env["TF_CPP_MIN_LOG_LEVEL"] = "0" if self.verbose else "3"
        return subprocess.Popen([sys.executable, "-c", TRAIN, family, str(self.artifacts),
                                 "quick" if self.quick else "full", "2" if self.verbose else "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)

    @staticmethod
    def _follow(bars: Progress, task: Any, report: dict[str, Any]) -> None:
        shown = next(t for t in bars.tasks if t.id == task)
        if "planned" in report:
            bars.update(task, total=(shown.total or 0) + report["planned"])
        elif "epoch" in report:
            bars.advance(task, report["epoch"])
        elif "metric" in report:
            bars.update(task, completed=shown.total or 1, total=shown.total or 1,
                        metric=f"{report['metric']} {report['value']:.3f}")
