"""A first start trains the missing families quietly: one bar per family, its held-out metric at
the end, TensorFlow's and Keras' own lines in the training log (and the terminal with --verbose)."""
from __future__ import annotations

import io
import json
from pathlib import Path

from lepton.local.training_display import FamilyTrainer
from lepton_training.progress import ProgressLines, read_line, reporting
from rich.console import Console


def trained(tmp_path: Path, verbose: bool) -> tuple[list[str], str, dict]:
    """Trains tabular (quick) as a first start does; (terminal lines, training log, manifest)."""
    shown = io.StringIO()
    trainer = FamilyTrainer(tmp_path / "artifacts", tmp_path / "logs" / "training.log", verbose=verbose, quick=True,
                            console=Console(file=shown, width=110, color_system=None))
    try:
        trainer.train("tabular")
    finally:
        trainer.close()
    manifest = json.loads((tmp_path / "artifacts" / "tabular" / "manifest.json").read_text())
    lines = [line.rstrip() for line in shown.getvalue().splitlines() if line.strip()]
    return lines, (tmp_path / "logs" / "training.log").read_text(), manifest


def test_a_family_is_one_finished_bar_with_its_test_metric_and_nothing_of_tensorflow(tmp_path):
    lines, log, manifest = trained(tmp_path, verbose=False)
    accuracy = manifest["metrics"]["accuracy"]
    assert len(lines) == 1, lines
    assert lines[0].startswith("tabular") and "100%" in lines[0] and lines[0].endswith(f"accuracy {accuracy:.3f}")
    assert "Epoch" not in log and "lepton-progress" not in log and log.startswith("--- training tabular")
    assert "tabular: test {'accuracy'" in log  # the run's own lines are kept there
    # The training report stays beside the model, as before.
    assert (tmp_path / "artifacts" / "tabular" / "report.md").is_file()


def test_verbose_shows_keras_epoch_lines_above_the_bar(tmp_path):
    lines, log, _ = trained(tmp_path, verbose=True)
    epochs = [line for line in lines if line.startswith("Epoch ")]
    assert epochs and all(line in log for line in epochs)
    assert lines[-1].startswith("tabular") and "accuracy" in lines[-1]


def test_progress_lines_read_back_as_they_were_written():
    stream = io.StringIO()
    with reporting(ProgressLines(stream)) as progress:
        progress.planned(6)
        progress.epoch()
        progress.finished("accuracy", 0.9375)
    reports = [read_line(line) for line in stream.getvalue().splitlines()]
    assert reports == [{"planned": 6}, {"epoch": 1}, {"metric": "accuracy", "value": 0.9375}]
    assert read_line("Epoch 1/40") is None and read_line("lepton-progress {not json") is None
