"""What Lepton costs and how far it scales: `lepton cost`.

prices.py     the price file (prices.json), every price with its source and date
measured.py   the benchmark's results, read as data
model.py      the cost arithmetic per million predictions
traffic.py    traffic profiles; simulate.py the scaling rules; scenarios.py the levers compared
crossover.py  when an always-on server is cheaper
report.py     docs/scale.md, with charts.py's PNGs
tables.py     the text tables it prints; cli.py the command
"""
