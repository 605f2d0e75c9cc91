"""Accounts: registration rules, sign-in, /me, refresh-token rotation and reuse detection,
logout, access-token verification (expiry, tampering, keys, algorithms), key rotation and
login throttling. Tokens are crafted here with Python's hmac, not by the service."""

import hashlib
import json
import time

import pytest

from shop_support import (ADMIN_EMAIL, PASSWORD, Shop, assert_problem, b64url, b64url_decode,
                          claims, jwt_parts, key_spec, login, logout, new_secret, refresh,
                          register, sign_jwt, unique, unique_email, wait_until_second_start)

ME = "/api/v1/me"


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


@pytest.fixture(scope="module")
def reader(shop):
    return shop.new_user("auth")


@pytest.fixture(scope="module")
def proxied(store):
    """A shop behind a trusted proxy: X-Forwarded-For names the client, so that tests can
    throttle from addresses of their own."""
    s = Shop.start(store, "--trusted-proxies", "127.0.0.1")
    yield s
    s.kill()


def me(shop, token=None, headers=None):
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    return shop.client.get(ME, headers=h)


# ---- registration ---------------------------------------------------------------------------


def test_register_normalises_email(shop):
    local = unique("Reader.")
    r = register(shop.client, f"  {local}@Example.ORG ")
    assert r.status == 201, r
    user = r.json()["user"]
    assert user["email"] == f"{local.lower()}@example.org"
    assert user["role"] == "customer"
    assert r.headers.get("cache-control") == "no-store"
    # and the normalised address signs in, in any spelling
    r = login(shop.client, f"{local.upper()}@EXAMPLE.org")
    assert r.status == 200, r
    assert r.json()["user"]["id"] == user["id"]


def test_register_the_documented_example(shop):
    # "  Reader@Example.ORG " -> "reader@example.org" (once per database)
    r = register(shop.client, "  Reader@Example.ORG ")
    assert r.status == 201, r
    assert r.json()["user"]["email"] == "reader@example.org"


def test_register_duplicate_email_is_409(shop):
    email = unique_email("dup")
    assert register(shop.client, email).status == 201
    for spelling in (email, email.upper(), f"  {email}\t"):
        assert_problem(register(shop.client, spelling, "another long passphrase"), 409,
                       "email-taken")


@pytest.mark.parametrize("password,why", [
    ("short pw", "under 10 characters"),
    ("123456789", "9 characters"),
    ("password1234", "on the common-password list"),
    ("PASSWORD1234", "common, in another case"),
    ("qwertyuiop", "common"),
    ("x" * 257, "over 256 characters"),
])
def test_register_rejects_weak_password(shop, password, why):
    email = unique_email("weak")
    body = assert_problem(register(shop.client, email, password), 400, "invalid-parameter",
                          field="password")
    assert body["detail"], why
    # nothing was created
    assert register(shop.client, email).status == 201


def test_register_rejects_password_equal_to_email(shop):
    local = unique("same")
    email = f"{local}@example.org"
    for pw in (email, email.upper(), f"{local}@Example.org"):
        assert_problem(register(shop.client, f" {email.title()} ", pw), 400, "invalid-parameter",
                       field="password")
    # the local part alone (4+ characters) is refused too
    assert_problem(register(shop.client, f"{'ab' * 6}@example.org", "ab" * 6), 400,
                   field="password")


def test_password_boundaries_accepted(shop):
    assert register(shop.client, unique_email("b10"), "k" * 9 + "Z").status == 201
    assert register(shop.client, unique_email("b256"), "é" * 256).status == 201  # characters


@pytest.mark.parametrize("email", ["", "   ", "no-at-sign.example.org", "two@@example.org",
                                   "a@b@example.org", "user@localhost", "user@-bad-.org",
                                   "us er@example.org", "user@exa mple.org", "@example.org",
                                   "user@.example.org", "x" * 65 + "@example.org",
                                   "user@" + "d" * 250 + ".org"])
def test_register_rejects_invalid_email(shop, email):
    assert_problem(register(shop.client, email), 400, "invalid-parameter", field="email")


# ---- login and /me --------------------------------------------------------------------------


def test_login_returns_a_session(shop, reader):
    r = login(shop.client, reader.email)
    assert r.status == 200, r
    s = r.json()
    assert s["token_type"] == "Bearer"
    assert s["expires_in"] == 900
    assert s["refresh_expires_in"] == 30 * 24 * 3600
    assert len(s["refresh_token"]) >= 43
    assert s["user"] == {"id": reader.id, "email": reader.email, "role": "customer",
                         "created_at": s["user"]["created_at"]}
    header, payload, _ = jwt_parts(s["access_token"])
    assert header["alg"] == "HS256" and header["kid"] == shop.kid
    assert payload["sub"] == str(reader.id) and payload["role"] == "customer"
    assert payload["exp"] - payload["iat"] == 900
    assert abs(payload["iat"] - time.time()) < 60
    assert r.headers.get("cache-control") == "no-store"
    # each login is a new session
    assert login(shop.client, reader.email).json()["refresh_token"] != s["refresh_token"]


def test_wrong_password_and_unknown_email_get_the_same_answer(shop, reader):
    wrong = assert_problem(login(shop.client, reader.email, "not the password"), 401,
                           "invalid-credentials")
    unknown = assert_problem(login(shop.client, unique_email("ghost"), PASSWORD), 401,
                             "invalid-credentials")
    for b in (wrong, unknown):
        b.pop("request_id")
    assert wrong == unknown
    # an e-mail that cannot even be valid is the same answer, not a 400
    assert_problem(login(shop.client, "not an email", PASSWORD), 401, "invalid-credentials")


def test_me_with_a_token(shop, reader):
    r = me(shop, reader.token)
    assert r.status == 200, r
    assert r.json()["id"] == reader.id and r.json()["email"] == reader.email
    assert r.headers.get("cache-control") == "no-store"
    assert "etag" not in r.headers


def test_me_of_the_admin(shop):
    r = me(shop, shop.admin.token)
    assert r.status == 200 and r.json()["role"] == "admin" and r.json()["email"] == ADMIN_EMAIL


def test_me_without_a_token_is_401(shop):
    assert_problem(me(shop), 401, "unauthenticated")


# ---- refresh and logout ---------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_family(shop, reader):
    s1 = login(shop.client, reader.email).json()
    r = refresh(shop.client, s1["refresh_token"])
    assert r.status == 200, r
    s2 = r.json()
    assert s2["refresh_token"] != s1["refresh_token"]
    assert s2["user"]["id"] == reader.id
    assert me(shop, s2["access_token"]).status == 200
    # the same login: the session id of the access token is kept
    assert jwt_parts(s2["access_token"])[1]["sid"] == jwt_parts(s1["access_token"])[1]["sid"]

    # the old token again: a reuse, which revokes the whole family ...
    assert_problem(refresh(shop.client, s1["refresh_token"]), 401, "refresh-token-reused")
    # ... so the new one is dead as well (and so is the reused one, for good)
    assert_problem(refresh(shop.client, s2["refresh_token"]), 401, "invalid-refresh-token")
    assert_problem(refresh(shop.client, s1["refresh_token"]), 401,
                   {"invalid-refresh-token", "refresh-token-reused"})
    # other sessions of the user are untouched
    s3 = login(shop.client, reader.email).json()
    assert refresh(shop.client, s3["refresh_token"]).status == 200


def test_refresh_chain_works_while_each_token_is_used_once(shop, reader):
    tok = login(shop.client, reader.email).json()["refresh_token"]
    seen = {tok}
    for _ in range(3):
        r = refresh(shop.client, tok)
        assert r.status == 200, r
        tok = r.json()["refresh_token"]
        assert tok not in seen
        seen.add(tok)


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 256])
def test_refresh_with_unknown_token_is_401(shop, token):
    assert_problem(refresh(shop.client, token), 401, "invalid-refresh-token")


def test_logout_revokes_the_session(shop, reader):
    s = login(shop.client, reader.email).json()
    r = logout(shop.client, s["refresh_token"])
    assert r.status == 204, r
    assert_problem(refresh(shop.client, s["refresh_token"]), 401, "invalid-refresh-token")
    # idempotent, and unknown tokens are fine too
    assert logout(shop.client, s["refresh_token"]).status == 204
    assert logout(shop.client, "never-issued").status == 204
    # documented: the access token stays valid until it expires
    assert me(shop, s["access_token"]).status == 200


def test_logout_of_a_rotated_session_revokes_the_successor(shop, reader):
    s1 = login(shop.client, reader.email).json()
    s2 = refresh(shop.client, s1["refresh_token"]).json()
    assert logout(shop.client, s1["refresh_token"]).status == 204
    assert_problem(refresh(shop.client, s2["refresh_token"]), 401, "invalid-refresh-token")


# ---- access-token verification --------------------------------------------------------------


def _tamper_role(token: str) -> str:
    h, p, s = token.split(".")
    payload = json.loads(b64url_decode(p))
    payload["role"] = "admin"
    return h + "." + b64url(json.dumps(payload, separators=(",", ":")).encode()) + "." + s


def _bad_tokens(shop, user):
    now = int(time.time())
    good_header = {"alg": "HS256", "typ": "JWT", "kid": shop.kid}
    c = claims(user.id)
    other = new_secret()
    none_token = (b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": shop.kid}).encode())
                  + "." + b64url(json.dumps(c).encode()) + ".")
    none_no_kid = (b64url(json.dumps({"alg": "none"}).encode()) + "." +
                   b64url(json.dumps(c).encode()) + ".")
    return {
        "expired": shop.token_for(user.id, iat=now - 1000, exp=now - 10),
        "expires_now": shop.token_for(user.id, iat=now - 1000, exp=now),
        "issued_in_the_future": shop.token_for(user.id, iat=now + 3600, exp=now + 7200),
        "tampered_role": _tamper_role(user.token),
        "tampered_signature": user.token[:-2] + ("AA" if not user.token.endswith("AA") else "BB"),
        "wrong_key_same_kid": sign_jwt(good_header, c, other),
        "unknown_kid": sign_jwt({**good_header, "kid": "k9"}, c, shop.secret),
        "no_kid": sign_jwt({"alg": "HS256", "typ": "JWT"}, c, shop.secret),
        "alg_none": none_token,
        "alg_none_no_kid": none_no_kid,
        "alg_none_lower": none_token.replace(
            none_token.split(".")[0],
            b64url(json.dumps({"alg": "None", "kid": shop.kid}).encode())),
        "alg_hs512": sign_jwt({**good_header, "alg": "HS512"}, c, shop.secret, hashlib.sha512),
        "alg_hs256_lower": sign_jwt({**good_header, "alg": "hs256"}, c, shop.secret),
        "typ_not_jwt": sign_jwt({**good_header, "typ": "JWS"}, c, shop.secret),
        "crit_header": sign_jwt({**good_header, "crit": ["exp"]}, c, shop.secret),
        "wrong_issuer": sign_jwt(good_header, {**c, "iss": "someone-else"}, shop.secret),
        "no_exp": sign_jwt(good_header, {k: v for k, v in c.items() if k != "exp"}, shop.secret),
        "exp_as_string": sign_jwt(good_header, {**c, "exp": str(c["exp"])}, shop.secret),
        "bad_role": sign_jwt(good_header, {**c, "role": "root"}, shop.secret),
        "numeric_sub": sign_jwt(good_header, {**c, "sub": user.id}, shop.secret),
        "sub_zero": sign_jwt(good_header, {**c, "sub": "0"}, shop.secret),
        "no_session": sign_jwt(good_header, {**c, "sid": ""}, shop.secret),
        "unknown_user": shop.token_for(987654321),
        "two_parts": "x.y",
        "four_parts": user.token + ".x",
        "not_base64": "!!!.???.***",
        "empty_parts": "..",
        "huge": "a" * 5000,
    }


BAD_TOKEN_NAMES = ["expired", "expires_now", "issued_in_the_future", "tampered_role",
                   "tampered_signature", "wrong_key_same_kid", "unknown_kid", "no_kid",
                   "alg_none", "alg_none_no_kid", "alg_none_lower", "alg_hs512",
                   "alg_hs256_lower", "typ_not_jwt", "crit_header", "wrong_issuer", "no_exp",
                   "exp_as_string", "bad_role", "numeric_sub", "sub_zero", "no_session",
                   "unknown_user", "two_parts", "four_parts", "not_base64", "empty_parts", "huge"]


def test_a_correctly_crafted_token_is_accepted(shop, reader):
    """The control for the rejections below: the crafting itself is right."""
    r = me(shop, shop.token_for(reader.id))
    assert r.status == 200, r
    assert r.json()["id"] == reader.id


@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
def test_bad_access_token_is_401(shop, reader, name):
    token = _bad_tokens(shop, reader)[name]
    assert_problem(me(shop, token), 401, "invalid-token")


def test_tampered_admin_role_grants_nothing(shop, reader):
    forged = _tamper_role(reader.token)
    assert_problem(shop.client.get("/api/v1/admin/feedback/stats",
                                   headers={"Authorization": f"Bearer {forged}"}), 401,
                   "invalid-token")


@pytest.mark.parametrize("header", ["Bearer x.y", "Basic dXNlcjpwYXNzd29yZA==", "Bearer",
                                    "Bearer ", "Token abc.def.ghi", "bearer", "x"])
def test_malformed_authorization_header_is_401(shop, header):
    assert_problem(me(shop, headers={"Authorization": header}), 401, "invalid-token")


def test_bearer_scheme_is_case_insensitive(shop, reader):
    assert me(shop, headers={"Authorization": f"bearer {reader.token}"}).status == 200
    assert me(shop, headers={"Authorization": f"BEARER {reader.token}"}).status == 200


def test_a_bad_token_on_a_public_route_is_still_401(shop):
    """A cart read works without credentials, but a broken Authorization header is not
    silently ignored."""
    r = shop.client.get("/api/v1/cart", headers={"Authorization": "Bearer x.y"})
    assert_problem(r, 401, "invalid-token")


# ---- key rotation ---------------------------------------------------------------------------


def test_key_rotation(shop, reader):
    new = new_secret()
    keys = f"{key_spec('k2', new)};{key_spec(shop.kid, shop.secret)}"
    rotated = Shop.start(shop.store, "--access-token-ttl", "60", url=shop.url, secret=new,
                         kid="k2", jwt_keys=keys)
    try:
        # tokens signed by the old key (first server) still work
        r = me(rotated, reader.token)
        assert r.status == 200, r
        assert r.json()["id"] == reader.id
        # new tokens are signed by the new key
        s = login(rotated.client, reader.email).json()
        header, payload, _ = jwt_parts(s["access_token"])
        assert header["kid"] == "k2"
        assert s["expires_in"] == 60 and payload["exp"] - payload["iat"] == 60
        assert me(rotated, s["access_token"]).status == 200
        # a server that does not know k2 rejects them
        assert_problem(me(shop, s["access_token"]), 401, "invalid-token")
        # refresh tokens are not tied to a signing key
        r = refresh(shop.client, s["refresh_token"])
        assert r.status == 200, r
        assert jwt_parts(r.json()["access_token"])[0]["kid"] == shop.kid
    finally:
        rotated.kill()


def test_server_refuses_bad_key_rings(shop):
    from lm_support import run_cli
    for keys in ["k1 c2hvcnQ", "k1", "bad kid! " + b64url(new_secret()),
                 f"{key_spec('k1', new_secret())};{key_spec('k1', new_secret())}"]:
        r = run_cli("serve", "--database-url", shop.url, "--listen", "127.0.0.1:0",
                    "--argon2-memory-kib", "19456", "--jwt-keys", keys, timeout=20)
        assert r.rc != 0, (keys, r)


# ---- throttling -----------------------------------------------------------------------------


_addr_n = [0]


def new_address() -> str:
    _addr_n[0] += 1
    return f"198.51.100.{_addr_n[0] % 250 + 1}" if _addr_n[0] < 250 else \
        f"203.0.113.{_addr_n[0] % 250 + 1}"


def from_addr(addr):
    return {"X-Forwarded-For": addr}


def fail_logins(client, email, addr, n):
    for i in range(n):
        r = login(client, email, "wrong password!", headers=from_addr(addr))
        assert_problem(r, 401, "invalid-credentials")


def test_login_throttled_after_repeated_failures(proxied):
    user = proxied.new_user("throttle")
    addr = new_address()
    fail_logins(proxied.client, user.email, addr, 5)
    wait_until_second_start()
    fail_logins(proxied.client, user.email, addr, 1)  # the 6th failure
    r = login(proxied.client, user.email, PASSWORD, headers=from_addr(addr))
    assert_problem(r, 429, "login-throttled")
    retry = int(r.headers["retry-after"])
    assert 1 <= retry <= 900, r.headers
    time.sleep(retry + 0.05)
    r = login(proxied.client, user.email, PASSWORD, headers=from_addr(addr))
    assert r.status == 200, r
    # the success cleared the pair: the next failure is free again
    fail_logins(proxied.client, user.email, addr, 1)
    assert login(proxied.client, user.email, PASSWORD, headers=from_addr(addr)).status == 200


def test_throttle_delay_grows(proxied):
    user = proxied.new_user("grow")
    addr = new_address()
    fail_logins(proxied.client, user.email, addr, 6)
    time.sleep(1.05)  # the 1 s block is over
    wait_until_second_start()
    fail_logins(proxied.client, user.email, addr, 1)  # 7th failure: 2 s
    r = login(proxied.client, user.email, PASSWORD, headers=from_addr(addr))
    assert_problem(r, 429, "login-throttled")
    assert int(r.headers["retry-after"]) == 2, r.headers


def test_another_account_from_the_same_address_is_blocked_only_at_the_address_limit(proxied):
    victim = proxied.new_user("victim")
    other = proxied.new_user("other")
    addr = new_address()
    fail_logins(proxied.client, victim.email, addr, 6)
    # the pair is blocked, the address is not (6 <= 20 failures)
    assert login(proxied.client, other.email, PASSWORD, headers=from_addr(addr)).status == 200
    # failures on other (unknown) accounts from this address, up to the address limit
    for _ in range(20 - 6):
        assert_problem(login(proxied.client, unique_email("guess"), "wrong password!",
                             headers=from_addr(addr)), 401, "invalid-credentials")
    assert login(proxied.client, other.email, PASSWORD, headers=from_addr(addr)).status == 200
    wait_until_second_start()
    assert_problem(login(proxied.client, unique_email("guess"), "wrong password!",
                         headers=from_addr(addr)), 401)  # the 21st failure of the address
    r = login(proxied.client, other.email, PASSWORD, headers=from_addr(addr))
    assert_problem(r, 429, "login-throttled")
    assert int(r.headers["retry-after"]) >= 1


def test_failures_from_another_address_do_not_block_the_account(proxied):
    user = proxied.new_user("roaming")
    attacker, home = new_address(), new_address()
    fail_logins(proxied.client, user.email, attacker, 5)
    wait_until_second_start()
    fail_logins(proxied.client, user.email, attacker, 1)
    assert_problem(login(proxied.client, user.email, PASSWORD, headers=from_addr(attacker)), 429,
                   "login-throttled")
    r = login(proxied.client, user.email, PASSWORD, headers=from_addr(home))
    assert r.status == 200, r


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(shop, reader):
    """The default shop trusts no proxy: X-Forwarded-For cannot be used to dodge or aim the
    throttle, and it does not break logins."""
    r = login(shop.client, reader.email, headers={"X-Forwarded-For": "192.0.2.77"})
    assert r.status == 200, r


def test_right_most_untrusted_hop_names_the_client(proxied):
    """With a trusted proxy, the client is the right-most X-Forwarded-For hop that is not a
    trusted proxy: a client cannot pick an address by prepending hops."""
    user = proxied.new_user("hops")
    real = new_address()
    fail_logins(proxied.client, user.email, real, 5)
    wait_until_second_start()
    # spoofed left-most hops do not change who the client is
    r = login(proxied.client, user.email, "wrong password!",
              headers={"X-Forwarded-For": f"10.9.9.9, {real}"})
    assert_problem(r, 401, "invalid-credentials")
    r = login(proxied.client, user.email, PASSWORD,
              headers={"X-Forwarded-For": f"10.8.8.8, {real}, 127.0.0.1"})
    assert_problem(r, 429, "login-throttled")


# ---- account administration (CLI) on a running shop ----------------------------------------


def _password_file(tmp_path, text):
    p = tmp_path / "pw"
    p.write_text(text + "\n")
    return str(p)


def test_cli_set_password_ends_sessions(shop, tmp_path):
    from lm_support import run_cli
    user = shop.new_user("cli")
    r = run_cli("user", "set-password", "--database-url", shop.url, "--email", user.email,
                "--argon2-memory-kib", "19456", "--password-file",
                _password_file(tmp_path, "a brand new passphrase"))
    assert r.rc == 0, r
    assert_problem(refresh(shop.client, user.refresh_token), 401, "invalid-refresh-token")
    assert_problem(login(shop.client, user.email, PASSWORD), 401, "invalid-credentials")
    assert login(shop.client, user.email, "a brand new passphrase").status == 200
    # the policy applies to the CLI as well
    r = run_cli("user", "set-password", "--database-url", shop.url, "--email", user.email,
                "--argon2-memory-kib", "19456", "--password-file",
                _password_file(tmp_path, "password1234"))
    assert r.rc != 0, r


def test_cli_set_role_takes_effect_at_the_next_sign_in(shop):
    from lm_support import run_cli
    user = shop.new_user("promoted")
    r = run_cli("user", "set-role", "--database-url", shop.url, "--email", user.email,
                "--role", "admin")
    assert r.rc == 0, r
    s = login(shop.client, user.email).json()
    assert s["user"]["role"] == "admin"
    target = f"/api/v1/orders?user={user.id}"  # administrators only
    assert shop.client.get(target, headers={"Authorization": f"Bearer {s['access_token']}"}
                           ).status == 200
    # the old token still carries the old role until it expires (stateless access tokens) ...
    assert_problem(shop.client.get(target, headers=user.auth), 403, "forbidden")
    # ... but a refresh reads the role afresh
    r = refresh(shop.client, user.refresh_token)
    assert r.status == 200, r
    assert jwt_parts(r.json()["access_token"])[1]["role"] == "admin"
    assert r.json()["user"]["role"] == "admin"
