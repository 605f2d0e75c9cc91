"""Support code for the shop integration tests (accounts, cart, orders, feedback, admin).

`Shop` is one `libromind serve` over its own fresh database (migrated, loaded with
sample-200.jsonl, with one administrator made by `libromind user create`), signing access
tokens with a key the tests know, so that they can craft tokens of their own. Every request
goes through lm_support.Client and is therefore validated against api/openapi.yaml.

    shop = Shop.start(store)
    alice = shop.new_user()                      # registered and signed in
    add_to_cart(shop.client, "pg-84", 2, token=alice.token)
    r = checkout(shop.client, alice.token, "key-1")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from lm_support import SAMPLE, Client, Response, ServerProcess, run_cli

ARGON2_KIB = "19456"  # OWASP's minimum: keeps hashing fast in tests
ARGON2 = ("--argon2-memory-kib", ARGON2_KIB)
ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "admin passphrase for tests"
PASSWORD = "correct horse battery"

GOOD_CARD = "4242424242424242"
DECLINED_CARDS = {"4000000000000002": "card_declined",
                  "4000000000009995": "insufficient_funds",
                  "4000000000000069": "expired_card"}
UNAVAILABLE_CARD = "4000000000000119"

SHIPPING = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
            "postal_code": "SW1Y 4JH", "country": "gb"}

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def unique(prefix: str = "u") -> str:
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}{n}-{uuid.uuid4().hex[:8]}"


def unique_email(prefix: str = "reader") -> str:
    return f"{unique(prefix)}@example.org"


# ---------------------------------------------------------------------------------------------
# JWT (HS256) crafting, independent of the service


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_secret() -> bytes:
    return os.urandom(32)


def key_spec(kid: str, secret: bytes) -> str:
    return f"{kid} {b64url(secret)}"


def jwt_parts(token: str) -> tuple[dict, dict, str]:
    h, p, s = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s


def sign_jwt(header: dict, payload: dict, secret: bytes, digest=hashlib.sha256) -> str:
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(payload, separators=(",", ":")).encode()))
    sig = hmac.new(secret, signing_input.encode("ascii"), digest).digest()
    return signing_input + "." + b64url(sig)


def claims(user_id: int, role: str = "customer", *, iat: int | None = None,
           exp: int | None = None, **extra) -> dict:
    now = int(time.time())
    iat = now if iat is None else iat
    c = {"iss": "libromind", "sub": str(user_id), "role": role, "sid": "crafted-session",
         "iat": iat, "exp": iat + 900 if exp is None else exp}
    c.update(extra)
    return c


# ---------------------------------------------------------------------------------------------
# HTTP helpers


def bearer(token: str | None) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


def call(client: Client, method: str, target: str, body: Any = None, *, token: str | None = None,
         headers: dict | None = None, raw: bytes | None = None,
         content_type: str | None = "application/json", validate: bool = True) -> Response:
    """One request; `body` is sent as JSON (or `raw` as given)."""
    hdrs: dict = {}
    data = raw
    if body is not None and raw is None:
        data = json.dumps(body).encode("utf-8")
    if data is not None and content_type is not None:
        hdrs["Content-Type"] = content_type
    hdrs.update(bearer(token))
    hdrs.update(headers or {})
    return client.request(method, target, headers=hdrs, body=data, validate=validate)


def assert_problem(r: Response, status: int, ptype: str | set | None = None,
                   field: str | None = None) -> dict:
    assert r.status == status, r
    assert r.headers.get("content-type", "").startswith("application/problem+json"), r
    body = r.json()
    if ptype is not None:
        types = {ptype} if isinstance(ptype, str) else set(ptype)
        types = {t if t.startswith("/problems/") else "/problems/" + t for t in types}
        assert body["type"] in types, body
    if field is not None:
        assert any(e["field"] == field for e in body.get("errors", [])), body
    if status == 401:
        assert r.headers.get("www-authenticate") == 'Bearer realm="libromind"', r.headers
    return body


def register(client: Client, email: str, password: str = PASSWORD) -> Response:
    return call(client, "POST", "/api/v1/auth/register", {"email": email, "password": password})


def login(client: Client, email: str, password: str = PASSWORD, headers: dict | None = None
          ) -> Response:
    return call(client, "POST", "/api/v1/auth/login", {"email": email, "password": password},
                headers=headers)


def refresh(client: Client, refresh_token: str) -> Response:
    return call(client, "POST", "/api/v1/auth/refresh", {"refresh_token": refresh_token})


def logout(client: Client, refresh_token: str) -> Response:
    return call(client, "POST", "/api/v1/auth/logout", {"refresh_token": refresh_token})


def get_cart(client: Client, token: str | None = None, cart_token: str | None = None,
             headers: dict | None = None) -> dict:
    hdrs = dict(headers or {})
    if cart_token:
        hdrs["X-Cart-Token"] = cart_token
    r = call(client, "GET", "/api/v1/cart", token=token, headers=hdrs)
    assert r.status == 200, r
    return r.json()


def add_to_cart(client: Client, book_id: str, quantity: int | None = 1, *,
                token: str | None = None, cart_token: str | None = None,
                headers: dict | None = None) -> Response:
    body: dict = {"book_id": book_id}
    if quantity is not None:
        body["quantity"] = quantity
    hdrs = dict(headers or {})
    if cart_token:
        hdrs["X-Cart-Token"] = cart_token
    return call(client, "POST", "/api/v1/cart/items", body, token=token, headers=hdrs)


def set_quantity(client: Client, book_id: str, quantity: Any, *, token: str | None = None,
                 cart_token: str | None = None) -> Response:
    hdrs = {"X-Cart-Token": cart_token} if cart_token else {}
    return call(client, "PUT", f"/api/v1/cart/items/{book_id}", {"quantity": quantity},
                token=token, headers=hdrs)


def line(cart: dict, book_id: str) -> dict | None:
    for item in cart["items"]:
        if item["book_id"] == book_id:
            return item
    return None


def card(number: str = GOOD_CARD, *, exp_month: int = 12, exp_year: int | None = None,
         cvc: str = "123") -> dict:
    if exp_year is None:
        exp_year = time.gmtime().tm_year + 3
    return {"card_number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}


def checkout_body(number: str = GOOD_CARD, *, shipping: dict | None = None,
                  expected_total_cents: int | None = None, **card_kw) -> dict:
    body = {"shipping": dict(shipping or SHIPPING), "payment": card(number, **card_kw)}
    if expected_total_cents is not None:
        body["expected_total_cents"] = expected_total_cents
    return body


def checkout(client: Client, token: str, key: str | None, body: dict | None = None,
             **kw) -> Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return call(client, "POST", "/api/v1/orders", body if body is not None else checkout_body(**kw),
                token=token, headers=headers)


def get_book(client: Client, book_id: str) -> Response:
    return client.get(f"/api/v1/books/{book_id}")


def poll_book(client: Client, book_id: str, pred, timeout: float = 2.0) -> Response:
    """GET /api/v1/books/{id} until pred(response) holds (the response cache is refreshed by
    polling the change sequence every 250 ms); returns the last response."""
    deadline = time.monotonic() + timeout
    while True:
        r = get_book(client, book_id)
        if pred(r) or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Users and the shop server


@dataclass
class User:
    email: str
    password: str
    id: int
    token: str
    refresh_token: str

    @property
    def auth(self) -> dict:
        return bearer(self.token)


class Shop:
    """A `libromind serve` on a fresh, migrated, sample-loaded database with an admin."""

    def __init__(self, store, url: str, server: ServerProcess, secret: bytes, kid: str):
        self.store = store
        self.url = url
        self.server = server
        self.client = server.client
        self.secret = secret
        self.kid = kid
        self._admin: User | None = None

    @staticmethod
    def prepare_database(store) -> str:
        url = store.fresh_url()
        r = run_cli("migrate", "--database-url", url)
        assert r.rc == 0, r
        r = run_cli("import", "--database-url", url, str(SAMPLE))
        assert r.rc == 0, r
        assert r.event("import_finished")["inserted"] == 200, r.stdout
        with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as f:
            f.write(ADMIN_PASSWORD + "\n")
            pw_file = f.name
        try:
            r = run_cli("user", "create", "--database-url", url, "--email", ADMIN_EMAIL,
                        "--admin", "--argon2-memory-kib", ARGON2_KIB, "--password-file", pw_file)
        finally:
            os.unlink(pw_file)
        assert r.rc == 0, r
        return url

    @classmethod
    def start(cls, store, *extra: str, url: str | None = None, secret: bytes | None = None,
              kid: str = "k1", jwt_keys: str | None = None) -> "Shop":
        url = url or cls.prepare_database(store)
        secret = secret or new_secret()
        keys = jwt_keys or key_spec(kid, secret)
        server = ServerProcess(url, *ARGON2, "--jwt-keys", keys, "--access-log", "false",
                               *extra)
        return cls(store, url, server, secret, kid)

    def kill(self) -> None:
        self.server.kill()

    # -- users ---------------------------------------------------------------------------------
    def new_user(self, prefix: str = "reader", password: str = PASSWORD) -> User:
        email = unique_email(prefix)
        r = register(self.client, email, password)
        assert r.status == 201, r
        return self.sign_in(email, password)

    def sign_in(self, email: str, password: str = PASSWORD) -> User:
        r = login(self.client, email, password)
        assert r.status == 200, r
        s = r.json()
        return User(email, password, s["user"]["id"], s["access_token"], s["refresh_token"])

    @property
    def admin(self) -> User:
        if self._admin is None:
            self._admin = self.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            assert self.client.get("/api/v1/me", headers=self._admin.auth).json()["role"] \
                == "admin"
        return self._admin

    def token_for(self, user_id: int, role: str = "customer", **kw) -> str:
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid}
        return sign_jwt(header, claims(user_id, role, **kw), self.secret)

    # -- admin catalogue -----------------------------------------------------------------------
    def create_book(self, *, price_cents: int = 1500, stock: int = 50, **fields) -> dict:
        body = {"id": unique("it-"), "title": f"Test book {unique('t')}",
                "authors": ["Tester, Tess"], "genres": ["Test fixtures"], "language": "en",
                "price_cents": price_cents, "currency": "USD", "stock": stock}
        body.update(fields)
        r = call(self.client, "POST", "/api/v1/admin/books", body, token=self.admin.token)
        assert r.status == 201, r
        return r.json()

    def patch_book(self, book_id: str, **fields) -> dict:
        r = call(self.client, "PATCH", f"/api/v1/admin/books/{book_id}", fields,
                 token=self.admin.token)
        assert r.status == 200, r
        return r.json()

    # -- direct store reads (no response cache) ------------------------------------------------
    def sql(self, query: str) -> list[tuple]:
        if self.url.startswith("sqlite://"):
            path = self.url[len("sqlite://"):]
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            try:
                return [tuple(row) for row in con.execute(query).fetchall()]
            finally:
                con.close()
        from conftest import psql
        out = psql(self.url, query)
        rows = []
        for text in out.splitlines():
            rows.append(tuple(_pg_value(v) for v in text.split("|")))
        return rows

    def wait_job(self, job_id: int, state: str, timeout: float = 30.0) -> dict:
        """GET /api/v1/admin/jobs/{id} until the job is in `state`; returns it."""
        deadline = time.monotonic() + timeout
        job = None
        while time.monotonic() < deadline:
            job = call(self.client, "GET", f"/api/v1/admin/jobs/{job_id}",
                       token=self.admin.token).json()
            if job["state"] == state:
                return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} not {state}: {job}")

    def execute(self, query: str) -> None:
        """A write straight on the store (tests that set up states the API cannot make)."""
        if self.url.startswith("sqlite://"):
            con = sqlite3.connect(self.url[len("sqlite://"):], timeout=10)
            try:
                con.execute(query)
                con.commit()
            finally:
                con.close()
            return
        from conftest import psql
        psql(self.url, query)

    def scalar(self, query: str):
        rows = self.sql(query)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return rows[0][0]

    def stock(self, book_id: str) -> int:
        return int(self.scalar(f"SELECT stock FROM books WHERE ext_id = '{book_id}'"))


def _pg_value(v: str):
    try:
        return int(v)
    except ValueError:
        return v


def sample_ids() -> list[str]:
    with open(SAMPLE, encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f if line.strip()]


def wait_until_second_start(max_frac: float = 0.3) -> None:
    """Sleeps until the wall clock is early in a second: the service's throttle works in whole
    seconds, so a block of 1 s set now lasts until the next second begins."""
    frac = time.time() % 1.0
    if frac > max_frac:
        time.sleep(1.0 - frac + 0.01)
