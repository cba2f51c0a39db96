"""A drift report as text: the terminal table, and the markdown file with its histograms."""
from __future__ import annotations

import re
from pathlib import Path

from lepton_drift.check import DriftReport, FeatureDrift, Level
from lepton_drift.profile import FIRST_WINDOW
from rich.console import Console
from rich.table import Table

STYLE = {Level.ALARM: "bold red", Level.WARNING: "yellow", Level.OK: "green", Level.NOT_ENOUGH_DATA: "dim",
         Level.NO_REFERENCE: "dim"}


def reference_line(report: DriftReport) -> str:
    if not report.reference_source:
        return "none"
    text = f"{report.reference_source}, {report.reference_rows:,} rows"
    return text + (" (not training data)" if report.reference_source == FIRST_WINDOW else "")


def window_line(report: DriftReport) -> str:
    text = (f"{report.window_start} to {report.window_end}: {report.records:,} requests, {report.rows:,} rows"
            f", {report.errors:,} failed")
    if report.skipped:
        text += f", {report.skipped:,} recorded without their data"
    return text + (f"; {report.sampled}" if report.sampled else "")


def print_report(out: Console, report: DriftReport) -> None:
    out.print(f"[bold]{report.model}[/bold] v{report.version}: "
              f"[{STYLE[report.level]}]{report.message}[/{STYLE[report.level]}]", soft_wrap=True)
    if report.level == Level.NO_REFERENCE:
        return
    out.print(f"  reference  {reference_line(report)}", soft_wrap=True, markup=False)
    if report.window_start:
        out.print(f"  window     {window_line(report)}", soft_wrap=True, markup=False)
    t = report.thresholds
    out.print(f"  thresholds PSI {t.warning:g} warning, {t.alarm:g} alarm; at least {t.min_rows:,} rows",
              soft_wrap=True, markup=False)
    if not report.features:
        return
    table = Table(show_edge=False, pad_edge=False)
    for column, justify in (("feature", "left"), ("role", "left"), ("PSI", "right"), ("test", "left"),
                            ("statistic", "right"), ("p-value", "right"), ("rows", "right"), ("level", "left")):
        # a feature's name on one line, in an 80-column terminal too: the numbers' columns give way
        table.add_column(column, justify=justify, no_wrap=column == "feature")  # type: ignore[arg-type]
    for f in report.features:
        table.add_row(f.name, f.role, _number(f.psi, 3), f.test or "-", _number(f.statistic, 3), _p(f.p_value),
                      f"{f.live_rows:,}", f"[{STYLE[f.level]}]{_level(f)}[/{STYLE[f.level]}]")
    out.print(table)


def write_markdown(path: Path, report: DriftReport) -> list[Path]:
    """``path`` (markdown) and one PNG per feature beside it; returns the PNGs."""
    from .charts import histogram

    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.stem
    lines = [f"# Drift: {report.model} v{report.version}", "",
             f"**{report.message}**", "",
             f"- reference: {reference_line(report)}" + (f" ({report.reference_description})"
                                                        if report.reference_description else ""),
             f"- live window: {window_line(report)}" if report.window_start else "- live window: none",
             f"- thresholds: PSI {report.thresholds.warning:g} warning, {report.thresholds.alarm:g} alarm; "
             f"a feature needs at least {report.thresholds.min_rows:,} live rows, and enough that sampling noise "
             f"alone stays under half the warning threshold", ""]
    plots: list[Path] = []
    if report.features:
        lines += ["| feature | role | PSI | test | statistic | p-value | live rows | level |",
                  "| --- | --- | ---: | --- | ---: | ---: | ---: | --- |"]
        for f in report.features:
            lines.append(f"| {f.name} | {f.role} | {_number(f.psi, 3)} | {f.test or '-'} | {_number(f.statistic, 3)} "
                         f"| {_p(f.p_value)} | {f.live_rows:,} | {_level(f)} |")
        lines.append("")
        for f in report.features:
            png = path.with_name(f"{stem}-{_slug(f.name)}.png")
            plots.append(histogram(png, f))
            about = f" ({f.description})" if f.description else ""
            lines += [f"## {f.name}{about}", "", f"![{f.name}: reference and live]({png.name})", ""]
            if f.live_summary and f.reference_summary:
                ref, live = f.reference_summary, f.live_summary
                lines += [f"Mean {ref['mean']:.4g} in the reference, {live['mean']:.4g} live; "
                          f"range {ref['min']:.4g} .. {ref['max']:.4g} against {live['min']:.4g} .. {live['max']:.4g}.", ""]
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return plots


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3g}" if value >= 1e-4 else "< 0.0001"


def _level(feature: FeatureDrift) -> str:
    if feature.level == Level.NOT_ENOUGH_DATA:
        needed = f", needs {feature.rows_needed:,}" if feature.rows_needed > 0 else ""
        return f"not enough data{needed}"
    return feature.level.value


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "feature"
