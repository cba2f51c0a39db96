"""Schemathesis, as users run it, against the whole HTTP API of a local stack: every route of
/openapi.json (control routes SigV4-signed, inference and server routes open), all checks but
those tests/fuzz/schemathesis.toml leaves out with its reasons. Zero failures is the bar."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Bounded so `make test` stays fast: a fixed seed and the examples per operation in the config
# (about 1,300 requests, 20-60 s on 2 cores); the timeout only catches a hang.
SEED = "20261129"
TIMEOUT_SECONDS = 600


def test_schemathesis_finds_no_failures_anywhere_in_the_api(stack):
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "PYTHONPATH": str(HERE), "SCHEMATHESIS_HOOKS": "sigv4_hooks",
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [str(st), "--no-color", "--config-file", str(HERE / "schemathesis.toml"), "run",
         f"{stack.base_url}/openapi.json", "--seed", SEED],
        capture_output=True, text=True, env=env, cwd=HERE, timeout=TIMEOUT_SECONDS)
    summary = done.stdout[done.stdout.rfind("SUMMARY"):]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", summary)
    generated = re.search(r"(\d+) generated", summary)
    assert tested and int(tested.group(1)) >= 17, summary  # every operation of the document
    assert generated and int(generated.group(1)) > 500, summary
    print(summary)
    assert "failures" not in summary.split("Test cases:")[-1], summary
