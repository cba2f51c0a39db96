"""Lepton's deployment core (the `lepton-deploy` Lambda layer): which version of each model
serves, and moving it.

Imported by the deployer, the control API, the CLI and training; never by a model function.
It stands on lepton_serving (the manifest, the model bucket, the deployments table, the
errors and their status table) and adds what only deployment needs:

- ``functions``: Lambda: a function's configuration, publishing, the ``live`` alias and its weights
- ``registry``:  the deployments table's meaning: live pointers, attempts, the per-model lease
- ``rollout``:   promote, canary, promote the canary, roll back: the alias moves
- ``canary``:    a canary's health from the functions' own metrics
- ``settings``:  the environment variables every deployment component reads, parsed once
- ``clock``:     the one timestamp format
- ``errors``:    deployment errors, subclasses of lepton_serving.errors (one status table)
"""
