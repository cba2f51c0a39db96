"""Both Lambda layers, built for arm64 and x86_64 exactly as `sam build` builds them.

SAM runs `make --makefile <ContentUri>/Makefile build-<LogicalId>` from a scratch copy of the
layer folder with ARTIFACTS_DIR in the environment; the architecture reaches the Makefile only
as ARCH (see layers/onnxruntime/Makefile). Each architecture is built once per session; pip's
cache makes a rebuild take seconds. `pytest -s tests/packaging` prints the size table.
"""
from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from cfnlint.decode import decode
from onnx import TensorProto, helper, numpy_helper
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from template_env import template_environment

ROOT = Path(__file__).resolve().parents[2]
LAYERS = {"OnnxRuntimeLayer": ROOT / "layers" / "onnxruntime", "ServingLayer": ROOT / "layers" / "serving",
          "DeployLayer": ROOT / "layers" / "deploy", "TokenizersLayer": ROOT / "layers" / "tokenizers",
          "ScipyLayer": ROOT / "layers" / "scipy"}
ARCHS = ("arm64", "x86_64")
HOST_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
ELF_MACHINE = {"x86_64": 62, "arm64": 183}  # e_machine: EM_X86_64, EM_AARCH64
WHEEL_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}

#: Layers whose zipped size is not reported (see test_function_code_plus_layers_fit_lambda_unzipped_limit).
UNZIPPED_ONLY = {"ScipyLayer"}
# Lambda quotas: function code plus all its layers, unzipped.
UNZIPPED_LIMIT = 262_144_000
# python3.12 runs on Amazon Linux 2023: glibc 2.34, libstdc++ from GCC 11.
MAX_GLIBC = (2, 34)
MAX_GLIBCXX = (3, 4, 29)
# What the python3.12 runtime already has on sys.path (never shipped in a layer).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "urllib3", "python-dateutil", "six", "jmespath"}
# onnxruntime declares these for its tools/transformers/quantization code, which is stripped.
NOT_NEEDED_FOR_INFERENCE = {"onnxruntime": {"flatbuffers", "packaging", "protobuf", "sympy"},
                            # Tokenizer.from_pretrained's download; a function reads its own tokenizer.json
                            "tokenizers": {"huggingface-hub"}}


@dataclass
class Built:
    arch: str
    python_dirs: dict[str, Path]  # layer logical id -> ARTIFACTS_DIR/python


def make_layer(logical_id: str, arch: str, artifacts: Path, scratch: Path) -> subprocess.CompletedProcess:
    source = LAYERS[logical_id]
    # Like SAM's CopySource action: the Makefile runs from a scratch copy of ContentUri.
    shutil.copytree(source, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    # sam build runs with python3.12 first on PATH; so does this build.
    env.update(ARTIFACTS_DIR=str(artifacts), ARCH=arch, PYTHON=sys.executable)
    return subprocess.run(["make", "--makefile", str(source / "Makefile"), f"build-{logical_id}"],
                          cwd=scratch, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    built: dict[str, Built] = {}

    def _build(arch: str) -> Built:
        if arch not in built:
            base = tmp_path_factory.mktemp(f"layers-{arch}")
            dirs = {}
            for logical_id in LAYERS:
                artifacts = base / "build" / logical_id
                result = make_layer(logical_id, arch, artifacts, base / "scratch" / logical_id)
                assert result.returncode == 0, f"{logical_id} ({arch}) failed:\n{result.stdout}\n{result.stderr}"
                dirs[logical_id] = artifacts / "python"
            built[arch] = Built(arch, dirs)
        return built[arch]

    return _build


@pytest.fixture(scope="session", params=ARCHS)
def layers(request, build) -> Built:
    return build(request.param)


@pytest.fixture(scope="session")
def function_deps(tmp_path_factory):
    """A function's requirements.txt installed as sam build's pip workflow does (with
    dependencies, for the target platform), so its size counts toward the limit."""
    sys.path.insert(0, str(ROOT / "layers"))
    from build_layer import platform_tags

    cache: dict[tuple[Path, str], Path | None] = {}

    def _install(code_dir: Path, arch: str) -> Path | None:
        key = (code_dir, arch)
        if key not in cache:
            requirements = code_dir / "requirements.txt"
            cache[key] = None
            if requirements.is_file() and requirements.read_text().split("#")[0].strip():
                target = tmp_path_factory.mktemp(f"deps-{code_dir.name}-{arch}")
                cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--root-user-action=ignore",
                       "-r", str(requirements), "--target", str(target), "--only-binary=:all:",
                       "--implementation", "cp", "--python-version", "3.12", "--no-compile"]
                for tag in platform_tags(arch):
                    cmd += ["--platform", tag]
                subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
                cache[key] = target
        return cache[key]

    return _install


# ---------------------------------------------------------------------------- helpers
def tree_bytes(root: Path) -> int:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file())


def zipped_bytes(layer_python: Path) -> int:
    """Size of the layer zip as SAM makes it: python/... deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(layer_python.rglob("*")):
            if f.is_file():
                zf.write(f, Path("python") / f.relative_to(layer_python))
    return buffer.tell()


def function_code_dirs() -> dict[str, tuple[Path, list[str]]]:
    """Every function's CodeUri and the template layers it uses."""
    template, matches = decode(str(ROOT / "template.yaml"))
    assert not matches, matches
    out = {}
    for name, res in template["Resources"].items():
        if res["Type"] == "AWS::Serverless::Function":
            props = res["Properties"]
            refs = [layer["Ref"] for layer in props.get("Layers", []) if isinstance(layer, dict) and "Ref" in layer]
            out[name] = (ROOT / props["CodeUri"], refs)
    return out


def code_bytes(code_dir: Path) -> int:
    return sum(f.stat().st_size for f in code_dir.rglob("*")
               if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc")


def pins(requirements: Path) -> dict[str, Requirement]:
    reqs = [Requirement(line.split("#")[0].strip()) for line in requirements.read_text().splitlines()
            if line.split("#")[0].strip()]
    return {canonicalize_name(r.name): r for r in reqs}


def distributions(layer_python: Path) -> dict[str, tuple[str, Path]]:
    """name -> (version, dist-info dir), read from the built tree itself."""
    out = {}
    for info in layer_python.glob("*.dist-info"):
        meta = (info / "METADATA").read_text(encoding="utf-8", errors="replace")
        name = re.search(r"^Name: (.+)$", meta, re.M).group(1).strip()
        version = re.search(r"^Version: (.+)$", meta, re.M).group(1).strip()
        out[canonicalize_name(name)] = (version, info)
    return out


def elf_machine(path: Path) -> int | None:
    with path.open("rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        return None
    return struct.unpack("<H", head[18:20])[0]


def shared_objects(root: Path) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and re.search(r"\.so(\.\d+)*$", f.name)]


# ---------------------------------------------------------------------------- sizes
def test_function_code_plus_layers_fit_lambda_unzipped_limit(layers: Built, function_deps) -> None:
    sizes_dirs = layers.python_dirs
    # ScipyLayer's zip is not measured: deflating its 160 MB costs CI half a minute a build, and
    # it has no zipped limit to meet (sam deploy uploads layers through S3).
    sizes = {lid: (tree_bytes(p), zipped_bytes(p) if lid not in UNZIPPED_ONLY else 0) for lid, p in sizes_dirs.items()}
    print(f"\n[{layers.arch}] layer sizes")
    for lid, (unzipped, zipped) in sizes.items():
        print(f"  {lid:18s} unzipped {unzipped / 1e6:7.1f} MB   " + (f"zipped {zipped / 1e6:6.1f} MB" if zipped else "zipped -"))
    functions = function_code_dirs()
    assert functions, "template has no AWS::Serverless::Function"
    for name, (code_dir, refs) in functions.items():
        assert set(refs) <= set(sizes), f"{name} uses layers this test does not build: {refs}"
        deps = function_deps(code_dir, layers.arch)
        code = code_bytes(code_dir) + (tree_bytes(deps) if deps else 0)
        total = code + sum(sizes[r][0] for r in refs)
        print(f"  {name:18s} code {code / 1e6:.1f} MB + layers {refs}: "
              f"{total / 1e6:.1f} MB of {UNZIPPED_LIMIT / 1e6:.1f} MB unzipped "
              f"({100 * total / UNZIPPED_LIMIT:.0f}%)")
        if deps:
            # /var/task comes before /opt/python: the function's copy wins over the layer's.
            layer_dists = {n: v for r in refs for n, (v, _) in distributions(sizes_dirs[r]).items()}
            shadowed = {n: (v, layer_dists[n]) for n, (v, _) in distributions(deps).items()
                        if n in layer_dists and layer_dists[n] != v}
            if shadowed:
                print(f"  {name:18s} NOTE its requirements shadow layer packages (function, layer): {shadowed}")
        assert total < UNZIPPED_LIMIT
    # The point of stripping: a model function's shared layers leave at least half the quota to it.
    for name, (_, refs) in functions.items():
        if "OnnxRuntimeLayer" in refs and name != "DeployerFunction":
            assert sum(sizes[r][0] for r in refs) < 0.5 * UNZIPPED_LIMIT, name


# ---------------------------------------------------------------------------- contents
def test_onnxruntime_layer_is_stripped_and_for_the_right_arch(layers: Built) -> None:
    root = layers.python_dirs["OnnxRuntimeLayer"]
    for gone in ("onnxruntime/tools", "onnxruntime/transformers", "onnxruntime/quantization",
                 "onnxruntime/backend", "numpy/f2py", "bin"):
        assert not (root / gone).exists(), gone
    assert not list(root.glob("onnxruntime/capi/libonnxruntime.so*"))
    machine = WHEEL_MACHINE[layers.arch]
    # The compiled halves inference needs are there, for python3.12 on this architecture.
    assert (root / f"onnxruntime/capi/onnxruntime_pybind11_state.cpython-312-{machine}-linux-gnu.so").is_file()
    assert (root / "onnxruntime/capi/libonnxruntime_providers_shared.so").is_file()
    assert (root / f"numpy/_core/_multiarray_umath.cpython-312-{machine}-linux-gnu.so").is_file()
    assert set(distributions(root)) == {"onnxruntime", "numpy"}


def test_serving_layer_has_the_library_and_no_runtime_packages(layers: Built) -> None:
    root = layers.python_dirs["ServingLayer"]
    source = LAYERS["ServingLayer"] / "lepton_serving"
    assert sorted(p.name for p in (root / "lepton_serving").glob("*.py")) == sorted(p.name for p in source.glob("*.py"))
    assert (root / "lepton_serving" / "app.py").read_bytes() == (source / "app.py").read_bytes()
    for name in ("boto3", "botocore", "s3transfer", "urllib3", "dateutil"):
        assert not (root / name).exists(), f"{name} is in the serving layer; the runtime provides it"
    assert not (set(distributions(root)) & {"boto3", "botocore", "s3transfer", "urllib3"})
    assert list(root.glob(f"orjson/orjson.cpython-312-{WHEEL_MACHINE[layers.arch]}-linux-gnu.so"))


def test_deploy_layer_is_the_deployment_core_and_the_drift_library_alone(layers: Built) -> None:
    root = layers.python_dirs["DeployLayer"]
    assert sorted(p.name for p in root.iterdir()) == ["lepton_deploy", "lepton_drift"]  # pure Python, no wheels
    for package in ("lepton_deploy", "lepton_drift"):
        source = LAYERS["DeployLayer"] / package
        assert sorted(p.relative_to(root / package).as_posix() for p in (root / package).rglob("*.py")) == sorted(
            p.relative_to(source).as_posix() for p in source.rglob("*.py"))


def test_scipy_layer_is_numpy_and_scipy_alone(layers: Built) -> None:
    root = layers.python_dirs["ScipyLayer"]
    assert set(distributions(root)) == {"numpy", "scipy"}
    assert not (root / "onnxruntime").exists()
    # numpy/f2py is stripped from every other layer; scipy's array API layer imports it
    assert (root / "numpy" / "f2py").is_dir() and not (layers.python_dirs["OnnxRuntimeLayer"] / "numpy" / "f2py").exists()


def test_tokenizers_layer_is_the_abi3_wheel_for_the_arch_alone(layers: Built) -> None:
    root = layers.python_dirs["TokenizersLayer"]
    assert set(distributions(root)) == {"tokenizers"}
    # One compiled extension, abi3 (any CPython >= 3.10, so 3.12's), for this architecture.
    extensions = list(root.glob("tokenizers/tokenizers.abi3.so"))
    assert len(extensions) == 1 and elf_machine(extensions[0]) == ELF_MACHINE[layers.arch]
    assert not (root / "huggingface_hub").exists()


def test_model_functions_do_not_ship_the_deployment_core() -> None:
    for name, (_, refs) in function_code_dirs().items():
        if "OnnxRuntimeLayer" in refs and name != "DeployerFunction":
            assert "DeployLayer" not in refs, f"{name} is a model function; it must not carry lepton_deploy"


def test_no_tests_or_stubs_left(layers: Built) -> None:
    for root in layers.python_dirs.values():
        leftovers = [p for p in root.rglob("*") if p.name == "tests" or p.suffix in (".pyi", ".pxd")]
        assert leftovers == []


def test_bytecode_is_python_312_only_and_covers_every_module(layers: Built) -> None:
    # Lambda's /opt is read-only: modules without shipped bytecode recompile on every cold start.
    for root in layers.python_dirs.values():
        pyc = [p for p in root.rglob("*.pyc")]
        assert pyc and all(p.name.endswith(".cpython-312.pyc") for p in pyc)
        sources = [p for p in root.rglob("*.py")]
        missing = [p for p in sources if not (p.parent / "__pycache__" / f"{p.stem}.cpython-312.pyc").exists()]
        assert missing == []


def test_every_shared_object_is_for_the_target_arch(layers: Built) -> None:
    objects = [so for root in layers.python_dirs.values() for so in shared_objects(root)]
    assert len(objects) >= 5  # onnxruntime, numpy's extensions and openblas, orjson
    wrong = [str(so) for so in objects if elf_machine(so) != ELF_MACHINE[layers.arch]]
    assert wrong == []


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf (binutils) is not installed")
def test_shared_objects_need_no_newer_glibc_than_lambda_has(layers: Built) -> None:
    glibc, glibcxx = (0,), (0,)
    for root in layers.python_dirs.values():
        for so in shared_objects(root):
            out = subprocess.run(["readelf", "-V", "-W", str(so)], capture_output=True, text=True, check=True).stdout
            for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", out):
                glibc = max(glibc, tuple(map(int, v.split("."))))
            for v in re.findall(r"GLIBCXX_(\d+(?:\.\d+)+)", out):
                glibcxx = max(glibcxx, tuple(map(int, v.split("."))))
    print(f"\n[{layers.arch}] newest symbol versions needed: GLIBC_{'.'.join(map(str, glibc))} "
          f"GLIBCXX_{'.'.join(map(str, glibcxx))} (Lambda python3.12: 2.34 / 3.4.29)")
    assert (2, 17) <= glibc <= MAX_GLIBC
    assert glibcxx <= MAX_GLIBCXX


def test_installed_versions_are_the_pins_and_dependencies_are_met(layers: Built) -> None:
    for lid, root in layers.python_dirs.items():
        requirements = LAYERS[lid] / "requirements.txt"
        wanted = pins(requirements) if requirements.is_file() else {}
        dists = distributions(root)
        assert {n: v for n, (v, _) in dists.items()} == {n: str(next(iter(r.specifier)).version)
                                                          for n, r in wanted.items()}
        # --no-deps installs: make sure nothing a package needs at run time is missing.
        env = {"python_version": "3.12", "python_full_version": "3.12.0", "sys_platform": "linux",
               "platform_system": "Linux", "platform_machine": WHEEL_MACHINE[layers.arch],
               "implementation_name": "cpython", "platform_python_implementation": "CPython"}
        for name, (_, info) in dists.items():
            extras = set(wanted[name].extras) | {""}
            for line in re.findall(r"^Requires-Dist: (.+)$", (info / "METADATA").read_text(), re.M):
                req = Requirement(line)
                if req.marker and not any(req.marker.evaluate({**env, "extra": e}) for e in extras):
                    continue
                dep = canonicalize_name(req.name)
                assert (dep in dists or dep in RUNTIME_PROVIDED
                        or dep in NOT_NEEDED_FOR_INFERENCE.get(name, ())), f"{lid}: {name} needs {req}"


def test_dist_info_records_list_only_files_that_exist(layers: Built) -> None:
    for root in layers.python_dirs.values():
        for record in root.glob("*.dist-info/RECORD"):
            rows = list(csv.reader(record.read_text().splitlines()))
            assert len(rows) > 3
            missing = [r[0] for r in rows if not (root / r[0]).exists()]
            assert missing == []


# ---------------------------------------------------------------------------- it still runs
# A tiny Gemm + Relu whose outputs are easy to compute by hand.
WEIGHTS = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)
BIAS = np.array([0.5, -13.0], dtype=np.float32)
FEED = [[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]
# relu(x @ W + b) by hand: [9.5, 12 - 13] -> [9.5, 0]; [13.5, 16 - 13] -> [13.5, 3].
EXPECTED = [[9.5, 0.0], [13.5, 3.0]]


def tiny_model(path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "W", "b"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(WEIGHTS, "W"), numpy_helper.from_array(BIAS, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def isolated_python(script: str, python_path: list[Path], *args: str) -> dict:
    """python3.12 -S: no site-packages at all, only the stdlib and PYTHONPATH (like /opt/python)."""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, python_path)),
           "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8", "AWS_DEFAULT_REGION": "us-east-1",
           "POWERTOOLS_METRICS_NAMESPACE": "Lepton"}
    # AWS_LAMBDA_RUNTIME_API stays unset: serve() must not try to load a model at import time.
    result = subprocess.run([sys.executable, "-S", "-c", script, *args], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


INFER = """
import json, sys
assert not any("site-packages" in p for p in sys.path), sys.path
import numpy, onnxruntime
import lepton_serving.app
from lepton_serving.protocol import dumps
from lepton_serving.session import create_session
session = create_session(open(sys.argv[1], "rb").read(), threads=1)
y = session.run(None, {"x": numpy.array(json.loads(sys.argv[2]), dtype=numpy.float32)})[0]
print(json.dumps({"y": json.loads(dumps({"y": y.tolist()}))["y"], "ort": onnxruntime.__version__,
    "numpy": numpy.__version__, "files": [onnxruntime.__file__, numpy.__file__, lepton_serving.app.__file__],
    "providers": onnxruntime.get_available_providers(),
    "aws": sorted(m for m in sys.modules if m.split(".")[0] in ("boto3", "botocore"))}))
"""


def test_stripped_layers_import_and_run_a_model(build, tmp_path: Path) -> None:
    built = build(HOST_ARCH)  # only the host's architecture can execute here
    model = tmp_path / "tiny.onnx"
    tiny_model(model)
    out = isolated_python(INFER, list(built.python_dirs.values()), str(model), json.dumps(FEED))
    assert np.maximum(np.array(FEED, dtype=np.float32) @ WEIGHTS + BIAS, 0).tolist() == EXPECTED
    assert out["y"] == EXPECTED
    assert (out["ort"], out["numpy"]) == ("1.32.0", "2.4.6")
    assert "CPUExecutionProvider" in out["providers"]
    layer_dirs = [str(p) for p in built.python_dirs.values()]
    assert all(any(f.startswith(d) for d in layer_dirs) for f in out["files"]), out["files"]
    assert out["aws"] == []  # importing the app needs no boto3


HANDLER = """
import json, os, sys
os.environ.update(json.loads(sys.argv[2]))  # the function's environment, as Lambda sets it before init
import botocore
from aws_lambda_powertools import Tracer
tracer = Tracer(service="probe")  # X-Ray needs botocore, which only the runtime provides
from tabular.handler import lambda_handler
response = lambda_handler(json.load(open(sys.argv[1])), None)
print(json.dumps({"status": response["statusCode"], "body": json.loads(response["body"]),
    "botocore": botocore.__file__, "provider": type(tracer.provider).__name__}))
"""


def test_function_code_and_layers_answer_a_request_beside_the_runtime_boto3(build, tmp_path: Path) -> None:
    """The deployed layout: /var/task (CodeUri), /opt/python (layers), then the runtime's boto3."""
    import boto3
    import botocore

    built = build(HOST_ARCH)
    runtime = tmp_path / "runtime-site-packages"
    runtime.mkdir()
    for module in (boto3, botocore):  # stand-ins for the runtime's own copies
        (runtime / module.__name__).symlink_to(Path(module.__file__).parent)
    for name in ("s3transfer", "urllib3", "dateutil", "jmespath"):
        (runtime / name).symlink_to(Path(__import__(name).__file__).parent)
    (runtime / "six.py").symlink_to(__import__("six").__file__)
    code_dir, refs = function_code_dirs()["TabularFunction"]
    # the template's LEPTON_ settings (Powertools' own stay the probe's)
    environment = {k: v for k, v in template_environment(
        "TabularFunction", {"ModelBucket": "lepton-models", "DeploymentsTable": "lepton-deployments"}).items()
        if k.startswith("LEPTON_")}
    out = isolated_python(HANDLER, [code_dir, *(built.python_dirs[r] for r in refs), runtime],
                          str(ROOT / "events" / "tabular" / "health-live.json"), json.dumps(environment))
    assert out == {"status": 200, "body": {"live": True}, "botocore": out["botocore"],
                   "provider": "AsyncAWSXRayRecorder"}
    assert out["botocore"].startswith(str(runtime))


TOKENIZE = """
import json, sys
assert not any("site-packages" in p for p in sys.path), sys.path
import tokenizers
from lepton_serving.manifest import TensorSpec, TokenizerFile
from lepton_serving.text import TokenizedInput
data = open(sys.argv[1], "rb").read()
specs = [TensorSpec("input_ids", "INT64", [-1, -1]), TensorSpec("attention_mask", "INT64", [-1, -1])]
encoded = TokenizedInput.load(data, TokenizerFile("0" * 64, len(data), 4), specs).encode(json.loads(sys.argv[2]))
print(json.dumps({"feed": {k: v.tolist() for k, v in encoded.feed.items()}, "truncated": encoded.truncated,
                  "file": tokenizers.__file__, "hub": "huggingface_hub" in sys.modules}))
"""


def test_the_tokenizers_layer_tokenizes_with_the_serving_layer_alone(build, tmp_path: Path) -> None:
    """A tokenizer.json read in the deployed layout: no site-packages, no huggingface_hub."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    built = build(HOST_ARCH)
    vocabulary = {"[PAD]": 0, "[UNK]": 1, "lepton": 2, "serves": 3, "text": 4}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    layers = [built.python_dirs[r] for r in ("OnnxRuntimeLayer", "ServingLayer", "TokenizersLayer")]
    out = isolated_python(TOKENIZE, layers, str(path), json.dumps(["lepton serves text", "text and more words here"]))
    # padded to the longest, cut at 4 tokens (the second text was), unknown words -> [UNK]
    assert out["feed"] == {"input_ids": [[2, 3, 4, 0], [4, 1, 1, 1]], "attention_mask": [[1, 1, 1, 0], [1, 1, 1, 1]]}
    assert out["truncated"] == [1]
    assert out["file"].startswith(str(built.python_dirs["TokenizersLayer"])) and not out["hub"]


# ---------------------------------------------------------------------------- the Makefiles
@pytest.mark.parametrize("logical_id", list(LAYERS))
def test_makefile_defaults_to_arm64_like_the_template(logical_id: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ARCH",) and not k.startswith("MAKE")}
    env["ARTIFACTS_DIR"] = str(tmp_path)
    dry = subprocess.run(["make", "-n", "--makefile", str(LAYERS[logical_id] / "Makefile"), f"build-{logical_id}"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert '--arch "arm64"' in dry
    template, _ = decode(str(ROOT / "template.yaml"))
    assert template["Parameters"]["Architecture"]["Default"] == "arm64"


def test_makefile_refuses_to_build_without_artifacts_dir() -> None:
    env = {k: v for k, v in os.environ.items() if k != "ARTIFACTS_DIR" and not k.startswith("MAKE")}
    result = subprocess.run(["make", "--makefile", str(LAYERS["ServingLayer"] / "Makefile"), "build-ServingLayer"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "ARTIFACTS_DIR is not set" in result.stderr


def test_unknown_architecture_is_an_error(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(ROOT / "layers" / "build_layer.py"), "--out", str(tmp_path),
                             "--arch", "ppc64le", "--requirements", str(LAYERS["ServingLayer"] / "requirements.txt")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "must be arm64 or x86_64, got 'ppc64le'" in result.stderr
    assert not (tmp_path / "python").exists()


DRIFT = """
import json, sys
assert not any("site-packages" in p for p in sys.path), sys.path
import numpy, scipy
from lepton_drift.check import Thresholds, compare
from lepton_drift.features import TableFeatures
from lepton_drift.profile import build_profile
rng = numpy.random.default_rng(0)
extractor = TableFeatures("x", ["a", "b"])
reference = rng.normal(size=(2000, 2))
profile = build_profile(extractor, extractor.columns({"x": reference}, {}), model="m", source="training")
live = rng.normal(size=(1000, 2)) * [1.0, 3.0]
report = compare(profile, extractor.columns({"x": live}, {}), Thresholds(), "m", "1")
print(json.dumps({"levels": {f.name: f.level.value for f in report.features},
                  "tests": [f.test for f in report.features], "scipy": scipy.__file__,
                  "onnxruntime": "onnxruntime" in sys.modules}))
"""


def test_the_drift_function_layers_run_a_check_with_scipy_and_no_onnxruntime(build) -> None:
    """The drift function's layout: ScipyLayer, ServingLayer and DeployLayer, nothing else."""
    built = build(HOST_ARCH)
    code_dir, refs = function_code_dirs()["DriftFunction"]
    assert set(refs) == {"ScipyLayer", "ServingLayer", "DeployLayer"}
    out = isolated_python(DRIFT, [code_dir, *(built.python_dirs[r] for r in refs)])
    assert out["levels"] == {"a": "ok", "b": "alarm"} and out["tests"] == ["ks", "ks"]
    assert out["scipy"].startswith(str(built.python_dirs["ScipyLayer"])) and not out["onnxruntime"]
