"""Order confirmation e-mails against a real SMTP server (aiosmtpd, started by the test with
AUTH LOGIN/PLAIN and a password the server reads from a file), on both stores: one message per
order with a text and an HTML part, sent by the send_email job that checkout queued in the
order's transaction; a second run of the job sends nothing; a server that refuses for now gets
the message later; without SMTP settings no e-mail job is queued."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import tempfile
import threading
import time

import pytest

from shop_support import Shop, add_to_cart, call, checkout, unique

aiosmtpd = pytest.importorskip("aiosmtpd", reason="Debian's python3-aiosmtpd (scripts/setup.sh)")
from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: E402

# The test server takes AUTH over plain TCP (loopback only); aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SMTP_USER = "libromind"
SMTP_PASSWORD = "smtp secret for tests"
SENDER = "orders@libromind.test"


class Mailbox:
    """The SMTP server's side: every accepted message, and a switch to refuse the next ones."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse = 0  # answer 451 (try later) to this many DATA commands
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            if self.refuse > 0:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            self.messages.append(envelope)
        return "250 OK"

    def for_recipient(self, address: str) -> list:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, address: str, n: int = 1, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.for_recipient(address)
            if len(got) >= n:
                return got
            time.sleep(0.1)
        raise AssertionError(f"no e-mail to {address} within {timeout}s: {self.messages}")


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode() and \
        auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate,
                     auth_required=True, auth_require_tls=False)
    ctl.start()
    box.port = port
    yield box
    ctl.stop()


@pytest.fixture(scope="module")
def shop(store, mailbox):
    with tempfile.NamedTemporaryFile("w", suffix=".pw", delete=False) as f:
        f.write(SMTP_PASSWORD + "\n")
        pw_file = f.name
    s = Shop.start(store, "--smtp-url", f"smtp://127.0.0.1:{mailbox.port}",
                   "--smtp-from", SENDER, "--smtp-username", SMTP_USER,
                   "--smtp-password-file", pw_file, "--smtp-starttls", "off",
                   "--storefront-url", "https://books.example")
    yield s
    s.kill()
    os.unlink(pw_file)


def place_order(shop: Shop, user, title: str | None = None, price: int = 1999) -> dict:
    fields = {"title": title} if title else {}
    b = shop.create_book(price_cents=price, stock=5, **fields)
    assert add_to_cart(shop.client, b["id"], 2, token=user.token).status == 200
    r = checkout(shop.client, user.token, unique("key-"))
    assert r.status == 201, r
    return r.json()


def parts(envelope) -> tuple[email.message.EmailMessage, str, str]:
    msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                   policy=email.policy.default)
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    return msg, text, html


def email_job(shop: Shop, order_public_id: str) -> dict:
    pk = shop.scalar(f"SELECT id FROM orders WHERE public_id = '{order_public_id}'")
    rows = shop.sql(f"SELECT id FROM jobs WHERE kind = 'send_email' AND dedup_key = 'order:{pk}'")
    assert len(rows) == 1, rows
    return call(shop.client, "GET", f"/api/v1/admin/jobs/{rows[0][0]}",
                token=shop.admin.token).json()


def test_an_order_sends_one_confirmation_with_text_and_html(shop, mailbox):
    user = shop.new_user("mail")
    order = place_order(shop, user, title=f"The <Mailed> Book {unique('m')}")
    (env,) = mailbox.wait_for(user.email)
    assert env.mail_from == SENDER and env.rcpt_tos == [user.email]
    msg, text, html = parts(env)
    assert msg["To"].addresses[0].addr_spec == user.email
    assert msg["From"].addresses[0].addr_spec == SENDER
    assert msg["Subject"] == f"Your Libro-Mind order {order['id']}"
    assert msg["Message-ID"] == f"<order-{order['id']}@libromind.test>"
    assert msg.get_content_type() == "multipart/mixed"
    title = order["lines"][0]["title"]
    assert f"2 x {title}" in text and "Total: 39.98 USD" in text
    assert f"https://books.example/orders/{order['id']}" in text
    assert "The &lt;Mailed&gt; Book" in html and "<Mailed>" not in html
    assert "39.98 USD" in html
    job = shop.wait_job(email_job(shop, order["id"])["id"], "succeeded")
    assert job["result"]["sent"] is True
    assert shop.scalar(f"SELECT COUNT(*) FROM order_emails oe JOIN orders o ON o.id = oe.order_id "
                       f"WHERE o.public_id = '{order['id']}'") == 1


def test_running_the_job_again_sends_nothing(shop, mailbox):
    user = shop.new_user("again")
    order = place_order(shop, user)
    mailbox.wait_for(user.email)
    job = shop.wait_job(email_job(shop, order["id"])["id"], "succeeded")
    shop.execute(f"UPDATE jobs SET state = 'dead' WHERE id = {job['id']}")
    assert call(shop.client, "POST", f"/api/v1/admin/jobs/{job['id']}/retry",
                token=shop.admin.token).status == 200
    again = shop.wait_job(job["id"], "succeeded")
    assert again["result"]["sent"] is False and again["result"]["already_sent"]
    time.sleep(0.5)
    assert len(mailbox.for_recipient(user.email)) == 1


def test_a_server_that_refuses_for_now_gets_the_message_later(shop, mailbox):
    user = shop.new_user("later")
    with mailbox.lock:
        mailbox.refuse = 1
        refused_before = mailbox.refused
    order = place_order(shop, user)
    (env,) = mailbox.wait_for(user.email, timeout=60)
    assert mailbox.refused == refused_before + 1
    job = shop.wait_job(email_job(shop, order["id"])["id"], "succeeded")
    assert job["attempts"] == 2 and "451" in (job["last_error"] or ""), job
    assert parts(env)[0]["Subject"].endswith(order["id"])


def test_without_smtp_settings_no_email_job_is_queued(store):
    s = Shop.start(store)
    try:
        user = s.new_user("nomail")
        order = place_order(s, user)
        pk = s.scalar(f"SELECT id FROM orders WHERE public_id = '{order['id']}'")
        assert s.sql(f"SELECT id FROM jobs WHERE dedup_key = 'order:{pk}'") == []
    finally:
        s.kill()


def test_bad_smtp_settings_stop_the_start_with_a_message(store):
    from lm_support import run_cli
    r = run_cli("serve", "--database-url", store.fresh_url(), "--listen", "127.0.0.1:0",
                "--smtp-url", "smtp://user:pw@mail.example")
    assert r.rc == 2 and "must not carry credentials" in r.stderr and "pw@" not in r.stderr
    r = run_cli("serve", "--database-url", store.fresh_url(), "--listen", "127.0.0.1:0",
                "--smtp-url", "smtp://127.0.0.1:1", "--smtp-password-file", "/nonexistent/pw")
    assert r.rc == 2 and "--smtp-password-file" in r.stderr
