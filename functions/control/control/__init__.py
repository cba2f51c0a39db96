"""Lepton's control API (FastAPI behind Mangum): model versions, rollouts, uploads, deployments."""
