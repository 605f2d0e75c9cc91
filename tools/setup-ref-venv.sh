#!/usr/bin/env bash
# Creates the reference implementation's environment: a venv with CPU PyTorch, transformers and
# sentence-transformers from PyPI, pinned with hashes in tools/ref-requirements.txt. Used by
# tools/make_parity_fixtures.py and bench/ml/baseline.py. Usage:
#   tools/setup-ref-venv.sh          # prints the venv's directory
# The venv is ${LIBROMIND_CACHE:-$HOME/.cache/libromind}/ref-venv. Idempotent: a venv made from the
# same requirements file is kept. PyPI has no CPU-only torch for Linux x86_64: its torch is the
# CUDA build, whose shared libraries cannot be loaded without the CUDA runtime libraries, so the
# NVIDIA wheels that provide those are installed too (about 3 GB), but none of torch's other CUDA
# dependencies (triton, cuda-bindings, ...); everything goes in with --no-deps from the
# hash-pinned closure in tools/ref-requirements.txt. No GPU is used: the reference runs on the CPU.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${LIBROMIND_CACHE:-$HOME/.cache/libromind}
venv=$cache/ref-venv
req=$here/tools/ref-requirements.txt
stamp=$venv/.libromind-requirements.sha256
want=$(sha256sum "$req" | cut -d' ' -f1)

smoke='import torch, numpy, safetensors, tokenizers, transformers, sentence_transformers
x = torch.randn(2, 3) @ torch.randn(3, 2)
assert x.shape == (2, 2) and not torch.cuda.is_available()'

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   "$venv/bin/python" -c "$smoke" >/dev/null 2>&1; then
  echo "$venv"
  exit 0
fi

py=${PYTHON:-python3}
tag=$("$py" -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]} {platform.machine()}")')
if [ "$tag" != "3.11 x86_64" ]; then
  echo "setup-ref-venv: tools/ref-requirements.txt is pinned for Python 3.11 on x86_64; $py is $tag" \
       "(set PYTHON to a python3.11)" >&2
  exit 1
fi

echo "setup-ref-venv: creating $venv (about 4 GB with the CUDA libraries torch loads)" >&2
rm -rf "$venv"
mkdir -p "$cache"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps --require-hashes \
  --only-binary=:all: -r "$req"
if ! err=$("$venv/bin/python" -c "$smoke" 2>&1); then
  echo "setup-ref-venv: the venv does not work:" >&2
  echo "$err" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "$venv"
