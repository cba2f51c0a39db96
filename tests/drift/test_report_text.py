"""`lepton drift`'s printed table, as a terminal of the usual 80 columns shows it."""
from __future__ import annotations

import io

from lepton_drift.check import DriftReport, FeatureDrift, Level
from rich.console import Console

from lepton.drift.report import print_report


def test_a_feature_name_stays_on_one_line_in_80_columns() -> None:
    names = ["worst radius", "worst smoothness", "worst texture", "prediction"]
    report = DriftReport("tabular", "1", Level.ALARM, "drift: worst texture (PSI 7.33)", reference_source="training",
                         reference_rows=455, window_start="2026-12-07T06:17:51Z", window_end="2026-12-07T06:18:49Z",
                         records=9, rows=342,
                         features=[FeatureDrift(name, "number", "prediction" if name == "prediction" else "input",
                                                Level.ALARM, 342, 455, psi=7.334, test="ks", statistic=261.328,
                                                p_value=1e-9) for name in names])
    out = Console(file=io.StringIO(), width=80, record=True, highlight=False)
    print_report(out, report)
    lines = out.export_text().splitlines()
    for name in names:
        row = next((line for line in lines if line.startswith(name)), None)
        assert row is not None and row.rstrip().endswith("alarm"), (name, lines)
