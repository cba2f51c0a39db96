"""Lepton's drift check: how far a model's live requests have moved from their reference profile,
feature by feature. Pure Python on numpy; it travels in the DeployLayer beside lepton_deploy, and
the drift function adds numpy and scipy (ScipyLayer).

Used by training (it writes the reference profile), the deployer's gate (it checks the pinned
one), the drift function (on a schedule, in AWS) and `lepton drift` (locally): one library, so
all of them measure the same features the same way. It stands on lepton_serving (the manifest)
and lepton_deploy (the captured requests); scipy's tests are imported only when a check runs.

- ``features``:  what is measured, per model family (`extractor_for`)
- ``profile``:   the reference profile (reference.json) and how it is built
- ``reference``: a version's pinned profile, read and checked
- ``stats``:     quantile bins, PSI, the Kolmogorov-Smirnov and chi-square tests
- ``check``:     live features against the profile: each feature's level, the report
- ``window``:    captured requests -> live feature columns, with a bound on how many are read
- ``baseline``:  a model without a profile: its first captured window becomes the reference
- ``errors``:    ProfileError
"""
