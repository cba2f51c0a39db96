#!/usr/bin/env python3
"""Build one Lambda layer for python3.12 on arm64 or x86_64 without Docker.

Both layer Makefiles call this, so "install wheels for the Lambda platform and strip what
inference never imports" has one implementation:

    python3 layers/build_layer.py --out ARTIFACTS_DIR --arch arm64 \
        [--requirements layers/serving/requirements.txt] [--package layers/serving/lepton_serving]

The layer's files land in ARTIFACTS_DIR/python (Lambda puts /opt/python on sys.path). pip picks
wheels by tag, never by the machine it runs on, so any Python 3 with pip can build either
architecture. Standard library only: it runs before any project venv exists.
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

PYTHON_VERSION = "3.12"  # the template's Runtime; cp312 wheels only

# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34), so any manylinux wheel up to
# 2_34 runs there. pip matches --platform tags exactly (no "or older"), hence the full list.
GLIBC_MINORS = range(17, 35)
ARCH_ALIASES = {"arm64": "arm64", "aarch64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}

# Shipped by the python3.12 runtime itself (/var/lang/lib/python3.12/site-packages); a copy in
# a layer would shadow the runtime's own, tested set and add ~25 MB. Finding one is a build error.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six.py")

# Globs relative to the layer's python/ dir: what serving never imports or loads.
STRIP_GLOBS = (
    "bin",  # console scripts (f2py, onnxruntime_test): nothing runs them in Lambda
    "onnxruntime/tools",  # model conversion/optimisation tooling, needs onnx
    "onnxruntime/transformers",  # transformer graph optimiser, needs onnx/torch
    "onnxruntime/quantization",  # quantize_dynamic & co: done at training time, needs onnx
    "onnxruntime/backend",  # the ONNX backend-test API, imports onnx (not in the layer)
    "onnxruntime/datasets",  # sample models for the docs
    # The C API library for native programs. The Python binding statically contains the runtime
    # and neither links nor dlopens it (checked with ldd and LD_DEBUG=files); ~34 MB on x86_64.
    "onnxruntime/capi/libonnxruntime.so*",
    "numpy/f2py",  # Fortran wrapper generator, imported only on `numpy.f2py` access
    "numpy/_pyinstaller",  # PyInstaller hook
    "numpy/_core/include",  # C headers and static libs for building extensions
    "numpy/_core/lib",
)
STRIP_DIR_NAMES = {"__pycache__", "tests"}
# Type stubs and Cython declarations are for type checkers and compilers, never imported.
STRIP_SUFFIXES = (".pyi", ".pxd", ".pyc")


def platform_tags(arch: str) -> list[str]:
    machine = MACHINE[arch]
    return [f"manylinux2014_{machine}"] + [f"manylinux_2_{minor}_{machine}" for minor in GLIBC_MINORS]


def pip_install(requirements: Path, target: Path, arch: str, python: str) -> None:
    cmd = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--root-user-action=ignore",
           "--requirement", str(requirements), "--target", str(target),
           # Every version is pinned in the requirements file, transitive ones included: what
           # the runtime already has (boto3, botocore) must not be pulled in again.
           "--no-deps",
           "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
           # .pyc files would be compiled by the building interpreter, maybe not 3.12.
           "--no-compile"]
    for tag in platform_tags(arch):
        cmd += ["--platform", tag]
    print(f"build_layer: pip install -r {requirements} for {arch}", flush=True)
    subprocess.run(cmd, check=True)


def copy_package(package: Path, target: Path) -> None:
    shutil.copytree(package, target / package.name,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests"))


def strip(root: Path, keep: tuple[str, ...] = ()) -> int:
    """Delete what serving never imports, but the STRIP_GLOBS in ``keep``; return the bytes removed."""
    removed = 0

    def rm(path: Path) -> None:
        nonlocal removed
        if path.is_dir() and not path.is_symlink():
            removed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        elif path.exists():
            removed += path.stat().st_size
            path.unlink()

    for pattern in (p for p in STRIP_GLOBS if p not in keep):
        for path in sorted(root.glob(pattern)):
            rm(path)
    # Walk top-down and prune: a removed dir's children are never visited.
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [d for d in dirnames if d in STRIP_DIR_NAMES]:
            rm(Path(dirpath) / name)
            dirnames.remove(name)
        for name in filenames:
            if name.endswith(STRIP_SUFFIXES):
                rm(Path(dirpath) / name)
    return removed


def rewrite_records(root: Path) -> None:
    """Keep each dist-info's RECORD true to what is left, so importlib.metadata's file lists
    (onnxruntime reads them) and any later tool see only files that exist."""
    for record in root.glob("*.dist-info/RECORD"):
        with record.open(newline="") as f:
            rows = list(csv.reader(f))
        kept = [r for r in rows if r and ((root / r[0]).exists() or r[0].endswith("/RECORD"))]
        with record.open("w", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(kept)


def compile_bytecode(root: Path, python: str) -> None:
    """Ship cpython-312 bytecode: /opt is read-only in Lambda, so without it every cold start
    recompiles onnxruntime, numpy and Powertools (876 ms of imports against 239 ms, measured).
    unchecked-hash: the layer never changes after the build, so skip the source stat checks."""
    version = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    if version != PYTHON_VERSION:
        print(f"build_layer: {python} is Python {version}, not {PYTHON_VERSION}: shipping no bytecode "
              "(cold starts will compile it); put python3.12 first on PATH", flush=True)
        return
    subprocess.run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash",
                    str(root)], check=True)


def check_no_runtime_packages(root: Path) -> None:
    found = [name for name in RUNTIME_PROVIDED if (root / name).exists()]
    if found:
        sys.exit(f"build_layer: {', '.join(found)} ended up in the layer; the python3.12 runtime "
                 "provides them. Remove them (or what depends on them) from the requirements.")


def tree_size(root: Path) -> tuple[int, int]:
    files = [f for f in root.rglob("*") if f.is_file()]
    return sum(f.stat().st_size for f in files), len(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="ARTIFACTS_DIR; the layer goes to OUT/python")
    parser.add_argument("--arch", default="arm64", help="arm64 (default) or x86_64")
    parser.add_argument("--requirements", type=Path, help="pinned third-party wheels (none for a pure-Python layer)")
    parser.add_argument("--package", type=Path, action="append", default=[],
                        help="a source package to copy into the layer (repeatable)")
    parser.add_argument("--keep", action="append", default=[], choices=STRIP_GLOBS, metavar="GLOB",
                        help="a path stripping would remove that this layer needs (repeatable)")
    parser.add_argument("--python", default=sys.executable, help="interpreter whose pip installs the wheels")
    args = parser.parse_args(argv)

    arch = ARCH_ALIASES.get(args.arch.strip().lower())
    if arch is None:
        parser.error(f"--arch/ARCH must be arm64 or x86_64, got '{args.arch}'")
    if not str(args.out).strip():
        parser.error("--out is empty: ARTIFACTS_DIR must be set")

    root = args.out.resolve() / "python"
    # pip --target will not replace what an earlier build left; start clean (only our subdir).
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)

    if args.requirements:
        pip_install(args.requirements, root, arch, args.python)
    for package in args.package:
        copy_package(package.resolve(), root)
    removed = strip(root, tuple(args.keep))
    rewrite_records(root)
    check_no_runtime_packages(root)
    compile_bytecode(root, args.python)

    size, count = tree_size(root)
    print(f"build_layer: {root} ({arch}): {count} files, {size / 1e6:.1f} MB unzipped "
          f"after stripping {removed / 1e6:.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
