"""Lepton's drift measurement: what a model's inputs and predictions look like, and how far live
ones have moved from a reference, feature by feature. Pure Python on numpy, standing on
lepton_serving alone (the manifest); scipy's tests are imported only when a comparison runs. It
travels in the DeployLayer beside lepton_deploy; the drift function adds numpy and scipy
(ScipyLayer).

Training writes reference profiles with it, admission (lepton_deploy.admission: the deployer's
gate and `lepton add`) checks a pinned one, and lepton_deploy.monitoring compares live traffic
with it (the drift function, `lepton drift`): one library, so all measure the same way.

- ``features``:  what is measured, per model family (`extractor_for`)
- ``profile``:   the reference profile (reference.json) and how it is built
- ``reference``: a version's pinned profile, read and checked against its manifest
- ``stats``:     quantile bins, PSI, the Kolmogorov-Smirnov and chi-square tests
- ``check``:     live features against the profile: each feature's level, the report
- ``levels``:    a check's Level (no numpy: the deployment core's registry reads it)
- ``errors``:    ProfileError
"""
