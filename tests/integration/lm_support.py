"""Support code for the libromind integration tests.

- paths (binary, data, spec) taken from the environment with repo-relative defaults;
- `ServerProcess`: runs `libromind serve` on port 0 and reads the port from its JSON log;
- `Client`: a small HTTP client over http.client (the request target is sent verbatim, unlike
  `requests`, which re-quotes bad percent escapes) that validates every response against
  api/openapi.yaml through `Contract`;
- raw-socket helpers and a CLI runner.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _repo_path(value: str) -> Path:
    p = Path(value)
    return p if p.is_absolute() else (REPO_ROOT / p)


BIN = _repo_path(os.environ.get("LIBROMIND_BIN", "build/release/libromind"))
DATA_DIR = _repo_path(os.environ.get("LIBROMIND_DATA_DIR", "../shared/data/books"))
SAMPLE = DATA_DIR / "sample-200.jsonl"
SPEC_PATH = REPO_ROOT / "api" / "openapi.yaml"
PG_SCRIPT = REPO_ROOT / "scripts" / "pg-test-server.sh"

START_TIMEOUT = 15.0


# ---------------------------------------------------------------------------------------------
# Sample data, read directly so that expectations do not come from the service under test.


def load_sample() -> list[dict]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# CLI


@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str

    def events(self, name: str | None = None) -> list[dict]:
        out = []
        for line in self.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if name is None or obj.get("event") == name:
                out.append(obj)
        return out

    def event(self, name: str) -> dict:
        ev = self.events(name)
        assert ev, f"no {name!r} log line in stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        return ev[-1]


def run_cli(*args: str, timeout: float = 60.0, env: dict | None = None) -> CliResult:
    full_env = dict(os.environ)
    # The binary's env twins must not leak in from the developer's shell.
    for k in list(full_env):
        if k.startswith("LIBROMIND_") and k not in ("LIBROMIND_BIN", "LIBROMIND_DATA_DIR"):
            del full_env[k]
    if env:
        full_env.update(env)
    p = subprocess.run([str(BIN), *args], capture_output=True, timeout=timeout, env=full_env)
    return CliResult(p.returncode, p.stdout.decode("utf-8", "replace"),
                     p.stderr.decode("utf-8", "replace"))


# ---------------------------------------------------------------------------------------------
# Server process


class ServerProcess:
    """`libromind serve` on 127.0.0.1:0; stdout JSON lines are collected in `lines`."""

    def __init__(self, database_url: str, *extra: str, env: dict | None = None,
                 wait_ready: bool = True):
        self.database_url = database_url
        self.args = [str(BIN), "serve", "--database-url", database_url,
                     "--listen", "127.0.0.1:0", *extra]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith("LIBROMIND_") or k in ("LIBROMIND_BIN",
                                                                "LIBROMIND_DATA_DIR")}
        # Search indexes go to a private directory, and book vectors are only computed by the
        # servers of the search tests (they ask for it), so other suites do not pay for it.
        self._index_dir = tempfile.mkdtemp(prefix="lm-index-")
        full_env["LIBROMIND_INDEX_DIR"] = self._index_dir
        full_env["LIBROMIND_EMBED_IN_BACKGROUND"] = "false"
        # Jobs run in the server on both stores (the worker suites start `libromind worker`
        # processes against a server with --worker off), and uploads wait in a private dir.
        full_env["LIBROMIND_WORKER"] = "on"
        self._upload_dir = tempfile.mkdtemp(prefix="lm-uploads-")
        full_env["LIBROMIND_UPLOAD_DIR"] = self._upload_dir
        if env:
            full_env.update(env)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env)
        self.lines: list[str] = []
        self.err_lines: list[str] = []
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self.port: int | None = None
        self._t_out = threading.Thread(target=self._pump, args=(self.proc.stdout, True),
                                       daemon=True)
        self._t_err = threading.Thread(target=self._pump, args=(self.proc.stderr, False),
                                       daemon=True)
        self._t_out.start()
        self._t_err.start()
        if not self._listening.wait(START_TIMEOUT) or self.port is None:
            self.kill()
            raise RuntimeError(f"server did not start: rc={self.proc.poll()}\n"
                               f"stdout: {self.stdout()}\nstderr: {self.stderr()}")
        self.client = Client(self.port)
        if wait_ready:
            self.wait_ready()

    def _pump(self, stream, is_stdout: bool) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                (self.lines if is_stdout else self.err_lines).append(line)
            if is_stdout and self.port is None and '"server_listening"' in line:
                try:
                    obj = json.loads(line)
                    if obj.get("event") == "server_listening":
                        self.port = int(obj["port"])
                        self._listening.set()
                except ValueError:
                    pass
        stream.close()
        if is_stdout:
            self._listening.set()  # process ended; unblock the waiter

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.client.get("/readyz", validate=False)
                if last.status == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"server not ready: {last!r}")

    def stdout(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def stderr(self) -> str:
        with self._lock:
            return "\n".join(self.err_lines)

    def events(self, name: str | None = None) -> list[dict]:
        with self._lock:
            lines = list(self.lines)
        out = []
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict) and (name is None or obj.get("event") == name):
                out.append(obj)
        return out

    def wait_for_event(self, pred, timeout: float = 5.0) -> dict | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            time.sleep(0.02)
        return None

    def terminate(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._t_out.join(5)
        self._t_err.join(5)
        shutil.rmtree(self._index_dir, ignore_errors=True)
        shutil.rmtree(self._upload_dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


# ---------------------------------------------------------------------------------------------
# Contract validation


class Contract:
    def __init__(self, path: Path = SPEC_PATH):
        with open(path, encoding="utf-8") as f:
            self.spec = yaml.safe_load(f)
        self.paths = self.spec["paths"]
        self._matchers = []
        for template in self.paths:
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
            self._matchers.append((re.compile(rx), template))
        self.checked = 0

    # -- lookups -------------------------------------------------------------------------------
    def resolve(self, obj: Any) -> Any:
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            ref = obj["$ref"]
            assert ref.startswith("#/"), ref
            node: Any = self.spec
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            obj = node
            seen += 1
            assert seen < 20, "ref loop"
        return obj

    def match_path(self, path: str) -> str | None:
        # Literal templates win over templated ones.
        hits = [t for rx, t in self._matchers if rx.match(path)]
        hits.sort(key=lambda t: t.count("{"))
        return hits[0] if hits else None

    def operations(self):
        for template, item in self.paths.items():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete", "patch", "head", "options"):
                    yield template, method, op

    def schema_validator(self, schema: dict) -> jsonschema.Draft202012Validator:
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": self.spec["components"], "allOf": [schema]}
        return jsonschema.Draft202012Validator(
            root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

    def validate_instance(self, schema: dict, instance: Any, what: str) -> None:
        v = self.schema_validator(schema)
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            msgs = "\n".join(f"  at {list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])
            raise AssertionError(f"{what}: body violates the schema:\n{msgs}")

    # -- the check -----------------------------------------------------------------------------
    def check(self, method: str, path: str, resp: "Response") -> None:
        what = f"{method} {path} -> {resp.status}"
        self.checked += 1
        assert "x-request-id" in resp.headers, f"{what}: no X-Request-Id header"
        self.validate_instance({"$ref": "#/components/schemas/RequestId"},
                               resp.headers["x-request-id"], what + " X-Request-Id")

        template = self.match_path(path)
        op = None
        if template is not None:
            op = self.paths[template].get(method.lower())
            if op is None and method.upper() == "HEAD":
                op = self.paths[template].get("get")
        if op is None:
            # Undocumented route or method (404, 405, CORS preflight...): errors must still be
            # problem documents.
            if resp.status >= 400:
                self.check_problem(what, resp, None)
            return
        responses = op["responses"]
        code = str(resp.status)
        robj = responses.get(code) or responses.get(code[0] + "XX") or responses.get("default")
        assert robj is not None, (f"{what}: status {code} is not documented for "
                                  f"{method.upper()} {template} (documented: {sorted(responses)})")
        robj = self.resolve(robj)
        self.check_headers(what, resp, robj.get("headers", {}))
        content = robj.get("content")
        if resp.status in (204, 304) or method.upper() == "HEAD":
            if resp.status in (204, 304):
                assert resp.raw_body == b"", f"{what}: must have an empty body"
            return
        if not content:
            return
        ctype = resp.headers.get("content-type", "")
        media = ctype.split(";")[0].strip().lower()
        keys = {k.split(";")[0].strip().lower(): k for k in content}
        assert media in keys, f"{what}: Content-Type {ctype!r} not in {list(content)}"
        key = keys[media]
        schema = content[key].get("schema")
        if media == "application/problem+json":
            self.check_problem(what, resp, schema)
        elif media.endswith("json"):
            body = resp.json()
            if schema is not None:
                self.validate_instance(schema, body, what)
        elif schema is not None:
            if schema.get("type") == "string":
                resp.text()  # must decode

    def check_headers(self, what: str, resp: "Response", headers: dict) -> None:
        for name, hobj in headers.items():
            hobj = self.resolve(hobj)
            lname = name.lower()
            value = resp.headers.get(lname)
            if value is None:
                assert not hobj.get("required"), f"{what}: required header {name} missing"
                continue
            schema = dict(self.resolve(hobj.get("schema", {})))
            if lname == "vary":
                # Vary is a token list; CORS legitimately adds "Origin" to it.
                tokens = [t.strip().lower() for t in value.split(",")]
                assert "accept-encoding" in tokens, f"{what}: Vary {value!r}"
                continue
            instance: Any = value
            if schema.get("type") == "integer":
                assert re.fullmatch(r"-?\d+", value), f"{what}: header {name}={value!r}"
                instance = int(value)
            self.validate_instance(schema, instance, f"{what} header {name}")

    def check_problem(self, what: str, resp: "Response", schema: dict | None) -> None:
        ctype = resp.headers.get("content-type", "")
        assert ctype.split(";")[0].strip().lower() == "application/problem+json", \
            f"{what}: problem Content-Type is {ctype!r}"
        body = resp.json()
        self.validate_instance(schema or {"$ref": "#/components/schemas/Problem"}, body, what)
        assert body["status"] == resp.status, f"{what}: problem status {body['status']}"
        assert body["request_id"] == resp.headers.get("x-request-id"), \
            f"{what}: problem request_id != X-Request-Id"
        assert resp.headers.get("cache-control") == "no-store", \
            f"{what}: problem Cache-Control is {resp.headers.get('cache-control')!r}"


CONTRACT = Contract()


# ---------------------------------------------------------------------------------------------
# HTTP client


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]            # lower-cased names; repeated headers joined by ", "
    header_list: list[tuple[str, str]]
    raw_body: bytes                    # as received (possibly gzip)
    method: str = "GET"
    target: str = ""
    _body: bytes | None = field(default=None, repr=False)

    @property
    def body(self) -> bytes:
        if self._body is None:
            if self.headers.get("content-encoding", "").lower() == "gzip":
                self._body = gzip.decompress(self.raw_body)
            else:
                self._body = self.raw_body
        return self._body

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self) -> str:
        return (f"<Response {self.method} {self.target[:120]} -> {self.status} "
                f"{self.headers.get('content-type')} {self.body[:300]!r}>")


class Client:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 20.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        self.base_url = f"http://{host}:{port}"

    def request(self, method: str, target: str, headers: dict | None = None,
                body: bytes | None = None, validate: bool = True) -> Response:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.putrequest(method, target, skip_host=False, skip_accept_encoding=True)
            hdrs = {"Accept-Encoding": "identity"}
            hdrs.update(headers or {})
            for k, v in hdrs.items():
                if v is not None:
                    conn.putheader(k, v)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            raw = r.read()
            header_list = list(r.getheaders())
        finally:
            conn.close()
        hmap: dict[str, str] = {}
        for k, v in header_list:
            lk = k.lower()
            hmap[lk] = (hmap[lk] + ", " + v) if lk in hmap else v
        resp = Response(r.status, r.reason, hmap, header_list, raw, method, target)
        if validate:
            path = target.split("?", 1)[0]
            CONTRACT.check(method, _decoded_path(path), resp)
        return resp

    def get(self, target: str, headers: dict | None = None, validate: bool = True) -> Response:
        return self.request("GET", target, headers=headers, validate=validate)

    def get_json(self, target: str, status: int = 200, headers: dict | None = None) -> Any:
        r = self.get(target, headers=headers)
        assert r.status == status, r
        return r.json()


def _decoded_path(path: str) -> str:
    # Only used to pick the spec operation; invalid escapes stay as they are.
    try:
        from urllib.parse import unquote
        return unquote(path, errors="strict")
    except UnicodeDecodeError:
        return path


# ---------------------------------------------------------------------------------------------
# Raw sockets


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Sends bytes, half-closes nothing, reads until the server closes or the timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        except socket.timeout:
            pass
        return b"".join(chunks)


def parse_raw_response(data: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert m, f"not an HTTP response: {data[:200]!r}"
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return int(m.group(1)), headers, body


def raw_response(status: int, headers: dict[str, str], body: bytes, method: str = "GET") -> Response:
    return Response(status, "", headers, list(headers.items()), body, method, "")
