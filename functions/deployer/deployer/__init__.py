"""The deployer: an uploaded model version is validated, published and made live, or refused.

handler (parse SQS / S3 events) -> pipeline (ordering, gate, promotion, records) -> gate
(ONNX checks) and lepton_serving.rollout (alias moves, shared with the CLI and control API).
"""
