"""One redaction for every open route (lepton_serving/redaction.py): the model functions' error
bodies and the control API's open views use the same Redactor."""
from __future__ import annotations

from lepton_serving.redaction import Redactor, without_paths


def test_the_redactor_replaces_resource_names_arns_s3_buckets_and_account_ids():
    redact = Redactor("lepton-models-1234", "lepton-deployments", ["stack-TabularFunction-AbC", "stack-Tabular"])
    text = ("lepton-models-1234 and s3://other-bucket/models/x and arn:aws:lambda:us-east-1:210987654321:function:f:7, "
            "stack-TabularFunction-AbC beside stack-Tabular, table lepton-deployments, account 210987654321; "
            "from bucket uploads-elsewhere; version 123 of 2026-11-29T20:43:11Z")
    assert redact(text, also=["uploads-elsewhere"]) == (
        "<bucket> and s3://<bucket>/models/x and <arn>, <function> beside <function>, table <table>, "
        "account <account>; from bucket <bucket>; version 123 of 2026-11-29T20:43:11Z")


def test_routes_in_a_message_stay_and_a_librarys_file_paths_lose_their_folders():
    redact = Redactor("lepton-models-1234")
    assert redact("send it to /models/digits/predict") == "send it to /models/digits/predict"
    assert without_paths("Status Message: /onnxruntime_src/onnxruntime/core/providers/cpu/tensor/gather.cc:114 "
                         "bad index; /tmp/pytest/opt/lepton-model/model.onnx") == (
        "Status Message: <path>/gather.cc:114 bad index; <path>/model.onnx")


def test_the_control_api_uses_the_serving_layers_redactor():
    from control import public, service

    assert public.Redactor is Redactor and service.Redactor is Redactor
