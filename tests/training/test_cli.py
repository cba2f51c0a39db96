"""The `train` subcommand: registration into the project CLI, flags, and an end-to-end publish."""
from __future__ import annotations

import argparse
import json

import boto3
import pytest
from lepton_serving.manifest import Manifest, manifest_key
from moto import mock_aws

from lepton_training import cli

BUCKET = "lepton-models-test"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="lepton")
    sub = root.add_subparsers(dest="command", required=True)
    cli.register(sub)
    return root


def test_register_adds_train_with_a_handler() -> None:
    args = parser().parse_args(["train", "digits", "--quick", "--epochs", "3", "--search", "--quantize",
                                "--set", "filters=8", "--out", "/tmp/x"])
    assert args.func is cli.handle and args.family == "digits" and str(args.out) == "/tmp/x"
    assert cli.overrides(args) == {"filters": "8", "epochs": 3, "search": True, "quantize": True}
    with pytest.raises(SystemExit):
        parser().parse_args(["train", "vision"])


def test_publish_without_a_bucket_is_a_usage_error(monkeypatch, capsys) -> None:
    monkeypatch.delenv("LEPTON_MODEL_BUCKET", raising=False)
    args = parser().parse_args(["train", "tabular", "--publish"])
    assert args.func(args) == 2
    assert "--bucket" in capsys.readouterr().err


def test_unknown_hyperparameter_is_a_usage_error(tmp_path, capsys) -> None:
    assert cli.main(["train", "tabular", "--quick", "--out", str(tmp_path), "--set", "epoch=3"]) == 2
    assert "unknown hyperparameter 'epoch'" in capsys.readouterr().err


def test_a_generator_named_judge_that_is_not_there_is_a_usage_error(tmp_path, capsys) -> None:
    missing = tmp_path / "no-digits-here"
    assert cli.main(["train", "generator", "--quick", "--out", str(tmp_path), "--set", f"classifier={missing}"]) == 2
    err = capsys.readouterr().err
    assert f"generator: classifier={missing} holds no trained digits model (manifest.json)" in err
    assert "Traceback" not in err and not (tmp_path / "generator").exists()


def test_main_trains_from_a_hyperparameter_file_and_publishes(tmp_path, aws_env) -> None:
    params = tmp_path / "hp.json"
    params.write_text(json.dumps({"learning_rate": 0.05, "epochs": 5}))
    out = tmp_path / "artifacts"
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        code = cli.main(["train", "tabular", "--quick", "--out", str(out), "--hyperparameters", str(params),
                         "--epochs", "3", "--publish", "--bucket", BUCKET])
        stored = boto3.client("s3").get_object(Bucket=BUCKET, Key=manifest_key("tabular", 1))["Body"].read()
    assert code == 0
    metrics = json.loads((out / "tabular" / "metrics.json").read_text())
    # File sets lr and epochs; the --epochs flag wins over the file.
    assert metrics["hyperparameters"]["learning_rate"] == 0.05 and metrics["hyperparameters"]["epochs"] == 3
    assert len(metrics["history"]["loss"]) == 3
    assert Manifest.from_json(stored).sha256 == Manifest.from_json((out / "tabular" / "manifest.json").read_text()).sha256
