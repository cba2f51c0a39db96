"""Section 4: what a model function ships, per architecture, against Lambda's limits.

The layers are built by the project's own layer builds (layers/<x>/Makefile -> build_layer.py),
never reimplemented here. Sizes are measured: the sum of file sizes (unzipped, what counts
against 250 MB) and a deflate zip of the same tree (what counts against 50 MB direct upload).
The TensorFlow comparison downloads tensorflow-cpu's Linux wheel and sums its entries.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from .common import ROOT, Settings
from .models import BenchModel

UNZIPPED_LIMIT_MB = 250.0
ZIPPED_LIMIT_MB = 50.0
MB = 1024 * 1024
LAYERS = {"OnnxRuntimeLayer": ROOT / "layers" / "onnxruntime" / "Makefile",
          "ServingLayer": ROOT / "layers" / "serving" / "Makefile"}
TF_WHEEL = "tensorflow-cpu==2.21.0"


def tree_size(folder: Path) -> int:
    total = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in filenames:
            if not name.endswith(".pyc"):
                total += os.path.getsize(os.path.join(dirpath, name))
    return total


def zipped_size(folder: Path, out: Path) -> int:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for name in sorted(filenames):
                if name.endswith(".pyc"):
                    continue
                path = Path(dirpath, name)
                archive.write(path, path.relative_to(folder))
    return out.stat().st_size


def build_layer(resource: str, arch: str, out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    makefile = LAYERS[resource]
    if not makefile.is_file():
        raise FileNotFoundError(f"{makefile.relative_to(ROOT)} is not there yet")
    subprocess.run(["make", "-s", "-f", str(makefile), f"build-{resource}", f"ARTIFACTS_DIR={out}", f"ARCH={arch}",
                    f"PYTHON={sys.executable}"], check=True, cwd=makefile.parent, capture_output=True, text=True)
    return out


def tf_wheel(work: Path) -> dict[str, Any]:
    folder = work / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    wheels = sorted(folder.glob("tensorflow_cpu-*.whl"))
    if not wheels:
        tags = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_27_x86_64", "manylinux_2_28_x86_64"]
        argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--python-version", "3.12", "--implementation", "cp", "-d", str(folder), TF_WHEEL]
        for tag in tags:
            argv += ["--platform", tag]
        subprocess.run(argv, check=True, capture_output=True, text=True)
        wheels = sorted(folder.glob("tensorflow_cpu-*.whl"))
    wheel = wheels[-1]
    with zipfile.ZipFile(wheel) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    return {"wheel": wheel.name, "unzipped_mb": unzipped / MB, "zipped_mb": wheel.stat().st_size / MB}


def run(settings: Settings, models: list[BenchModel]) -> dict[str, Any]:
    host_arch = {"x86_64": "x86_64", "aarch64": "arm64"}.get(os.uname().machine, "x86_64")
    arches = [host_arch] if settings.quick else ["arm64", "x86_64"]
    work = settings.work / "package"
    results: dict[str, Any] = {"limits": {"unzipped_mb": UNZIPPED_LIMIT_MB, "zipped_mb": ZIPPED_LIMIT_MB},
                               "arches": {}, "notes": []}
    for arch in arches:
        entry: dict[str, Any] = {"layers": {}, "functions": {}}
        try:
            for resource in LAYERS:
                folder = build_layer(resource, arch, work / arch / resource)
                entry["layers"][resource] = {"unzipped_mb": tree_size(folder) / MB,
                                             "zipped_mb": zipped_size(folder, work / arch / f"{resource}.zip") / MB}
                settings.say(f"  package {arch} {resource}: {entry['layers'][resource]['unzipped_mb']:.1f} MB unzipped")
        except (FileNotFoundError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            results["notes"].append(f"{arch}: layer build failed or missing: {detail.strip()[-300:]}")
            settings.say(f"  package {arch}: {results['notes'][-1]}")
            continue
        layers_unzipped = sum(v["unzipped_mb"] for v in entry["layers"].values())
        layers_zipped = sum(v["zipped_mb"] for v in entry["layers"].values())
        for model in models:
            code = model.code_uri
            unzipped = tree_size(code) / MB
            zipped = zipped_size(code, work / arch / f"{model.name}-function.zip") / MB
            entry["functions"][model.name] = {
                "function_unzipped_mb": unzipped, "function_zipped_mb": zipped,
                "total_unzipped_mb": unzipped + layers_unzipped, "total_zipped_mb": zipped + layers_zipped,
                "headroom_mb": UNZIPPED_LIMIT_MB - unzipped - layers_unzipped,
            }
        results["arches"][arch] = entry
    if settings.quick and not (settings.work / "package" / "wheels").is_dir():
        results["notes"].append("quick mode: TensorFlow wheel not downloaded (full run measures it)")
    else:
        try:
            results["tensorflow"] = tf_wheel(settings.work / "package")
            settings.say(f"  package tensorflow-cpu wheel: {results['tensorflow']['unzipped_mb']:.0f} MB unzipped")
        except subprocess.CalledProcessError as exc:
            results["notes"].append(f"could not download {TF_WHEEL}: {(exc.stderr or '').strip()[-300:]}")
    if "arm64" not in arches:
        results["notes"].append("quick mode: only the host architecture built")
    return results
