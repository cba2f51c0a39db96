"""Batch scoring on the local stack: the template's own state machine, or exactly why not.

moto 5.2.5's Step Functions interpreter is what would run it locally. It parses everything in
the batch definition except ItemBatcher (with MaxItemsPerBatchPath and BatchInput), child
workflows of ExecutionType EXPRESS and ReaderConfig InputType JSONL, so the local stack creates
no batch state machine and the control API answers with those names. These tests fail the day
moto can run the definition: then batch jobs run on `make up` with no other change.
"""
from __future__ import annotations

import copy

from lepton.local.deploy_setup import ROOT
from lepton.local.step_functions import unsupported
from lepton.local.template import Template

MOTO_LACKS = ["JSONL", "ItemBatcher", "MaxItemsPerBatchPath", "BatchInput", "EXPRESS"]


def definition() -> dict:
    return copy.deepcopy(Template(ROOT / "template.yaml").resources["BatchStateMachine"]["Properties"]["Definition"])


def test_moto_cannot_run_exactly_the_batcher_the_express_children_and_the_json_lines_reader():
    assert unsupported(definition()) == MOTO_LACKS


def test_without_those_moto_parses_the_rest_of_the_batch_definition():
    # GIVEN the definition with one row per child, STANDARD children and a JSON array reader
    trimmed = definition()
    for name in ("ScoreJsonLines", "ScoreCsv"):
        state = trimmed["States"][name]
        del state["ItemBatcher"]
        state["ItemProcessor"] = {**state["ItemProcessor"], "ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                                                "ExecutionType": "STANDARD"}}
    trimmed["States"]["ScoreJsonLines"]["ItemReader"]["ReaderConfig"]["InputType"] = "JSON"
    # THEN moto's parser takes everything else: the reader, selector, limits, tasks, writer, count check
    assert unsupported(trimmed) == []
