"""Watching live versions: each model's captured requests against its reference profile.

lepton_drift measures (features, profiles, statistics); this decides what is measured and when:

- ``window``:     captured requests (lepton_deploy.captures) -> live feature columns, bounded by sampling
- ``baselines``:  a model without a profile: its first captured window, kept in the deployments table
- ``live_check``: one version end to end: its reference, its live window, the report
- ``settings``:   the drift check's settings, from the drift function's environment

The drift function runs it on a schedule in AWS; `lepton drift` runs it on the local stack.
"""
