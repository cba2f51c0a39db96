"""The deployer: an uploaded model version is validated, published and made live, or refused.

handler (parse SQS / S3 events) -> pipeline (read -> gate -> rollout -> record) -> gate (every
check on the uploaded files, one place), verify (the pre-traffic check on the published version)
and lepton_deploy.rollout (alias moves, shared with the CLI and control API).
"""
