"""The price file: every price the model uses has a value, its source and the date it was read."""
from __future__ import annotations

import pytest

from lepton.cost import prices

USED = ("lambda.duration.arm64", "lambda.duration.x86_64", "lambda.requests", "lambda.provisioned.arm64",
        "lambda.provisioned.x86_64", "lambda.provisioned_duration.arm64", "lambda.provisioned_duration.x86_64",
        "lambda.snapstart_cache", "lambda.snapstart_restore", "apigw.http_requests", "s3.get",
        "dynamodb.read_on_demand", "ec2.c7g.xlarge", "ec2.c7i.xlarge", "sagemaker.serverless")


def test_every_price_in_the_file_has_a_positive_value_an_https_source_and_a_read_date():
    table = prices.load()
    assert set(USED) <= set(table.names())
    for name in table.names():
        price = table[name]
        assert price.value > 0 and price.per > 0, name
        assert price.source.startswith("https://"), name
        assert len(price.read) == 10 and price.read[4] == "-" and price.read[7] == "-", name


def test_the_instances_say_how_many_vcpus_they_have():
    table = prices.load()
    assert table["ec2.c7g.xlarge"].get("vcpus") == 4
    assert table["ec2.c7i.xlarge"].get("vcpus") == 4


def test_unit_price_divides_by_the_quantity_priced():
    assert prices.load().unit("apigw.http_requests") == pytest.approx(1.00 / 1_000_000)


@pytest.mark.parametrize("missing", ["source", "read", "value"])
def test_a_price_without_its_source_date_or_value_is_refused(missing):
    entry = {"value": 1.0, "per": 1, "unit": "GB-second", "what": "x", "source": "https://example.com",
             "read": "2026-11-29"}
    del entry[missing]
    with pytest.raises(prices.PriceFileError, match=f"lacks {missing}"):
        prices.parse({"prices": {"lambda.requests": entry}})


def test_a_source_that_is_not_a_url_is_refused():
    entry = {"value": 1.0, "per": 1, "unit": "u", "what": "x", "source": "the AWS website", "read": "2026-11-29"}
    with pytest.raises(prices.PriceFileError, match="https:// URL"):
        prices.parse({"prices": {"lambda.requests": entry}})


def test_asking_for_an_unknown_price_names_the_known_ones():
    with pytest.raises(prices.PriceFileError, match="known: .*lambda.requests"):
        prices.load()["lambda.gpu"]
