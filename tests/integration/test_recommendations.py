"""POST /api/v1/recommendations over the real binary, both stores, the real embedding model and
a real model server (llama.cpp's llama-server with a small instruct model, started by
`make test`; LIBROMIND_TEST_LLM_URL / _API / _MODEL name it). The SSE protocol is checked on
the wire: the books come first, the explanation streams in several events, the stream ends
with `done` or an `error` problem, a client that leaves cancels the generation upstream.

Fault injection uses a deliberately stalling fake (StallingModelServer): it accepts the
connection and never answers, for the first-token timeout and the circuit breaker. A model
server that is stopped is a closed port.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time

import pytest

from lm_support import CONTRACT
from shop_support import Shop, call
from test_search import wait_caught_up

LLM_URL = os.environ.get("LIBROMIND_TEST_LLM_URL", "")
LLM_API = os.environ.get("LIBROMIND_TEST_LLM_API", "openai")
LLM_MODEL = os.environ.get("LIBROMIND_TEST_LLM_MODEL", "")
REQUIRE_LLM = os.environ.get("LIBROMIND_REQUIRE_LLM") == "1"

EVENT_SCHEMAS = {
    "results": "SearchResponse",
    "token": "RecommendationToken",
    "done": "RecommendationDone",
    "error": "Problem",
}


def need_llm():
    if LLM_URL and LLM_MODEL:
        return
    if REQUIRE_LLM:
        pytest.fail("LIBROMIND_REQUIRE_LLM=1 but no model server: set LIBROMIND_TEST_LLM_URL "
                    "and LIBROMIND_TEST_LLM_MODEL (make test starts scripts/llm-server.sh)")
    pytest.skip("no model server (LIBROMIND_TEST_LLM_URL); make test starts one")


class Stream:
    """One SSE exchange: the status, headers and (for 200) the events with arrival times."""

    def __init__(self, port: int, body, headers: dict | None = None, timeout: float = 120.0):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        hdrs.update(headers or {})
        self.started = time.monotonic()
        self.conn.request("POST", "/api/v1/recommendations", body=raw, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.events: list[tuple[str, dict, float]] = []

    def problem(self) -> dict:
        assert self.headers["content-type"] == "application/problem+json", self.headers
        return json.loads(self.resp.read())

    def next_event(self):
        """The next (name, data, seconds since the request) or None at the end of the stream."""
        name, data = "", []
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if not data and not name:
                    continue
                ev = (name, json.loads("\n".join(data)), time.monotonic() - self.started)
                self.events.append(ev)
                return ev
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)

    def read_all(self) -> list[tuple[str, dict, float]]:
        while self.next_event() is not None:
            pass
        self.close()
        return self.events

    def close(self):
        # The response holds the socket: both must go for the connection to close.
        self.resp.close()
        self.conn.close()

    def names(self) -> list[str]:
        return [n for n, _, _ in self.events]

    def text_of(self, index: int) -> str:
        return "".join(d["text"] for n, d, _ in self.events if n == "token" and d["index"] == index)


def check_events(events):
    """Every event's data matches its schema in the contract; the order is the protocol's."""
    for name, data, _ in events:
        assert name in EVENT_SCHEMAS, name
        CONTRACT.validate_instance({"$ref": f"#/components/schemas/{EVENT_SCHEMAS[name]}"}, data,
                                   f"event {name}")
    names = [n for n, _, _ in events]
    assert names[0] == "results", names
    assert names[-1] in ("done", "error"), names
    assert names.count("done") + names.count("error") == 1, names
    assert all(n == "token" for n in names[1:-1]), names


def metric(client, prefix: str) -> float:
    text = client.get("/metrics", validate=False).text()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


class StallingModelServer:
    """Fault-injection fake, not a model server: accepts connections, reads the request and
    never answers, so that first-token timeouts and the circuit breaker can be tested."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(c)

    def close(self):
        self.stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def llm_shop(store):
    need_llm()
    s = Shop.start(store, "--embed-in-background", "true", "--embed-threads", "2",
                   "--llm-url", LLM_URL, "--llm-api", LLM_API, "--llm-model", LLM_MODEL,
                   "--llm-first-token-timeout-ms", "60000", "--llm-total-timeout-ms", "120000")
    wait_caught_up(s.client, 200)
    yield s
    s.kill()


@pytest.fixture(scope="module")
def stalled_shop(store):
    fake = StallingModelServer()
    s = Shop.start(store, "--llm-url", f"http://127.0.0.1:{fake.port}", "--llm-api", "openai",
                   "--llm-model", "stalled", "--llm-first-token-timeout-ms", "300",
                   "--llm-breaker-failures", "2", "--llm-breaker-open-ms", "60000",
                   "--llm-max-concurrency", "4")
    s.fake = fake
    yield s
    s.kill()
    fake.close()


@pytest.fixture(scope="module")
def stopped_shop(store):
    s = Shop.start(store, "--llm-url", f"http://127.0.0.1:{free_port()}", "--llm-api", "openai",
                   "--llm-model", "gone", "--llm-breaker-failures", "0")
    yield s
    s.kill()


# --- the protocol, on the real model server


def test_books_arrive_first_then_the_explanation_streams_then_done(llm_shop):
    st = Stream(llm_shop.client.port,
                {"query": "a gothic novel about a scientist who creates a monster", "limit": 3})
    assert st.status == 200
    assert st.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert st.headers["cache-control"] == "no-store, no-transform"
    assert st.headers["x-accel-buffering"] == "no"
    assert st.headers["transfer-encoding"] == "chunked"
    assert "content-encoding" not in st.headers
    events = st.read_all()
    check_events(events)
    results = events[0][1]
    books = [i["book"] for i in results["items"]]
    assert 1 <= len(books) <= 3
    assert "pg-84" in [b["id"] for b in books]  # Frankenstein
    tokens = [e for e in events if e[0] == "token"]
    assert len(tokens) >= 2 * len(books), "each paragraph streams in several pieces"
    # The books were on the wire before the first token, and tokens kept arriving over time.
    assert events[0][2] <= tokens[0][2]
    assert len({round(t[2], 3) for t in tokens}) >= 2
    # One paragraph per book, in order, each naming its book and only chosen books.
    assert [t[1]["index"] for t in tokens] == sorted(t[1]["index"] for t in tokens)
    for t in tokens:
        assert t[1]["book"] == books[t[1]["index"]]["id"]
    for i, b in enumerate(books):
        text = st.text_of(i)
        assert text.startswith(b["title"] + ": "), text
        assert len(text) > len(b["title"]) + 10, text
    done = events[-1]
    assert done[0] == "done", done
    assert done[1]["model"] == LLM_MODEL
    assert done[1]["cached"] is False
    assert done[1]["tokens"] > 0
    assert done[1]["request_id"] == results["request_id"] == st.headers["x-request-id"]
    t = done[1]["timings_ms"]
    assert 0 < t["first_token"] <= t["explanation"] <= t["total"]


def test_the_same_request_again_is_answered_from_the_explanation_cache(llm_shop):
    body = {"query": "Cosy   village MYSTERY with a detective", "limit": 2}
    first = Stream(llm_shop.client.port, body).read_all()
    check_events(first)
    assert first[-1][0] == "done" and first[-1][1]["cached"] is False
    hits_before = metric(llm_shop.client, 'libromind_llm_explanation_cache_total{result="hit"}')
    # Normalised: case and spacing do not matter.
    again = Stream(llm_shop.client.port, {"query": "cosy village mystery with a detective",
                                          "limit": 2})
    events = again.read_all()
    check_events(events)
    assert events[-1][1]["cached"] is True
    assert [again.text_of(i) for i in range(2)] == [
        "".join(d["text"] for n, d, _ in first if n == "token" and d["index"] == i)
        for i in range(2)]
    assert metric(llm_shop.client,
                  'libromind_llm_explanation_cache_total{result="hit"}') == hits_before + 1


def test_seed_books_find_company_and_leave_the_seeds_out(llm_shop):
    st = Stream(llm_shop.client.port, {"seed_books": ["pg-84"], "limit": 4, "explain": False})
    events = st.read_all()
    check_events(events)
    ids = [i["book"]["id"] for i in events[0][1]["items"]]
    assert len(ids) == 4 and "pg-84" not in ids
    assert st.names() == ["results", "done"]
    assert events[-1][1]["model"] is None


def test_filters_apply_to_the_picks(llm_shop):
    genre = llm_shop.client.get_json("/api/v1/books/pg-84")["genres"][0]
    events = Stream(llm_shop.client.port,
                    {"query": "a monster and its maker", "limit": 5, "explain": False,
                     "filters": {"genre": genre, "in_stock": True}}).read_all()
    check_events(events)
    items = events[0][1]["items"]
    assert items
    for i in items:
        assert genre in i["book"]["genres"], i["book"]
        assert i["book"]["stock"] > 0


def test_filters_that_match_nothing_give_no_books_and_no_model_call(llm_shop):
    st = Stream(llm_shop.client.port, {"query": "whales", "filters": {"genre": "No Such Genre"}})
    events = st.read_all()
    check_events(events)
    assert events[0][1]["items"] == []
    assert st.names() == ["results", "done"]


def test_a_client_that_leaves_cancels_the_generation_upstream(llm_shop):
    client = llm_shop.client
    cancelled_before = metric(client, 'libromind_llm_requests_total{api="openai",outcome="cancelled"}')
    closed_before = metric(client, 'libromind_http_streams_total{route="/api/v1/recommendations",'
                                   'outcome="client_closed"}')
    st = Stream(client.port, {"query": "a long sea voyage hunting a white whale", "limit": 5})
    assert st.next_event()[0] == "results"
    assert st.next_event()[0] == "token"
    st.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if metric(client, 'libromind_http_streams_total{route="/api/v1/recommendations",'
                          'outcome="client_closed"}') > closed_before:
            break
        time.sleep(0.1)
    assert metric(client, 'libromind_http_streams_total{route="/api/v1/recommendations",'
                          'outcome="client_closed"}') == closed_before + 1
    assert metric(client, 'libromind_llm_requests_total{api="openai",outcome="cancelled"}') \
        == cancelled_before + 1
    # Not cached: the next identical request generates again.
    events = Stream(client.port, {"query": "a long sea voyage hunting a white whale",
                                  "limit": 5}).read_all()
    assert events[-1][0] == "done" and events[-1][1]["cached"] is False


def test_search_runs_llm_expansion_and_hyde_on_the_real_model_server(llm_shop):
    client = llm_shop.client
    calls = 'libromind_llm_requests_total{api="openai",outcome="ok"}'
    before = metric(client, calls)
    r = client.get("/api/v1/search?q=scientist+creates+life&expansion=llm&hyde=llm&limit=5")
    assert r.status == 200
    body = r.json()
    assert body["pipeline"]["expansion"] == "llm" and body["pipeline"]["hyde"] == "llm"
    assert metric(client, calls) == before + 2, "one call for the variants, one for HyDE"
    assert body.get("hyde"), body  # the model's hypothetical description was searched
    # The variants are the model's: the 135M test model often repeats the query, which the
    # pipeline refuses and reports; a server failure would say "model server: ...".
    if not body["expansions"]:
        assert body["degraded"] == [{"stage": "expansion",
                                     "reason": "the model gave no usable variants"}], body
    else:
        assert body["degraded"] == [], body


def test_feedback_on_a_recommendation_is_attributed_to_its_request(llm_shop):
    events = Stream(llm_shop.client.port, {"query": "ghost story", "limit": 2,
                                           "explain": False}).read_all()
    results = events[0][1]
    book = results["items"][0]["book"]["id"]
    user = llm_shop.new_user()
    time.sleep(0.5)  # the request log writes in batches every 200 ms
    v = call(llm_shop.client, "POST", "/api/v1/feedback",
             {"request_id": results["request_id"], "book_id": book, "vote": "up",
              "query": "ghost story"}, token=user.token)
    assert v.status in (200, 201), v
    # The pipeline recorded with the recommendation, not "unknown".
    assert v.json()["pipeline"].startswith("lexical+dense"), v.json()


# --- failures of the model server: the books still arrive, the explanation is an error event


def test_a_stopped_model_server_gives_the_books_then_an_error_event(stopped_shop):
    st = Stream(stopped_shop.client.port, {"query": "pirates and buried treasure", "limit": 3})
    assert st.status == 200
    events = st.read_all()
    check_events(events)
    assert events[0][1]["items"], "the books are sent even without a model server"
    assert st.names() == ["results", "error"]
    err = events[-1][1]
    assert err["type"] == "/problems/llm-unreachable" and err["status"] == 503, err
    assert err["request_id"] == events[0][1]["request_id"]


def test_a_stopped_model_server_degrades_llm_search_stages(stopped_shop):
    r = stopped_shop.client.get("/api/v1/search?q=pirates&expansion=auto&hyde=auto")
    assert r.status == 200
    stages = {d["stage"] for d in r.json()["degraded"]}
    assert {"expansion", "hyde"} <= stages
    # auto fell back to the offline stages: the search still used them.
    assert r.json()["pipeline"]["expansion"] == "auto"


def test_a_stalling_model_server_times_out_then_the_breaker_skips_it(stalled_shop):
    port = stalled_shop.client.port
    errors = []
    for _ in range(2):
        events = Stream(port, {"query": "dragons", "limit": 1}).read_all()
        check_events(events)
        errors.append(events[-1][1]["type"])
    assert errors == ["/problems/llm-timeout"] * 2
    accepted = stalled_shop.fake.accepted
    started = time.monotonic()
    events = Stream(port, {"query": "dragons", "limit": 1}).read_all()
    assert events[-1][1]["type"] == "/problems/llm-unavailable"
    assert time.monotonic() - started < 2.0
    assert stalled_shop.fake.accepted == accepted, "an open breaker does not call the server"
    assert metric(stalled_shop.client, "libromind_llm_breaker_open") == 1


# --- bad input: clear problems before any stream starts


@pytest.mark.parametrize("body,field", [
    ({}, "query"),
    ({"query": "   "}, "query"),
    ({"query": "x" * 1001}, "query"),
    ({"query": "bad\u0001char"}, "query"),
    ({"query": "ok", "limit": 0}, "limit"),
    ({"query": "ok", "limit": 11}, "limit"),
    ({"query": "ok", "limit": "3"}, "limit"),
    ({"query": "ok", "seed_books": "pg-84"}, "seed_books"),
    ({"query": "ok", "seed_books": ["bad id!"]}, "seed_books"),
    ({"query": "ok", "seed_books": ["pg-84"] * 21}, "seed_books"),
    ({"query": "ok", "filters": {"colour": "red"}}, "filters.colour"),
    ({"query": "ok", "filters": {"year_min": "old"}}, "filters.year_min"),
    ({"query": "ok", "explain": "yes"}, "explain"),
    ({"query": "ok", "unknown": 1}, "unknown"),
])
def test_invalid_requests_are_400_problems_naming_the_field(stopped_shop, body, field):
    st = Stream(stopped_shop.client.port, body)
    assert st.status == 400, body
    p = st.problem()
    assert field in json.dumps(p), p
    st.close()


def test_an_unknown_seed_book_is_404(stopped_shop):
    st = Stream(stopped_shop.client.port, {"seed_books": ["pg-999999999"]})
    assert st.status == 404
    assert "pg-999999999" in st.problem()["detail"]
    st.close()


def test_a_body_that_is_not_json_is_rejected(stopped_shop):
    st = Stream(stopped_shop.client.port, b"query=whales",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert st.status == 415
    st.close()
    st = Stream(stopped_shop.client.port, b"{not json")
    assert st.status == 400
    st.close()


def test_non_latin_and_stop_word_requests_stream_without_failing(stopped_shop):
    for q in ["战争与和平", "the of and a", "Преступление и наказание"]:
        st = Stream(stopped_shop.client.port, {"query": q, "limit": 3, "explain": False})
        assert st.status == 200, q
        events = st.read_all()
        check_events(events)
        assert st.names() == ["results", "done"]


def test_seed_books_without_vectors_yet_fall_back_to_their_words(stopped_shop):
    """This server computes no vectors (the harness turns background embedding off): the seeds'
    neighbours come from their title and genre words, and `dense` says it was degraded."""
    st = Stream(stopped_shop.client.port, {"seed_books": ["pg-84", "pg-345"], "limit": 4,
                                           "explain": False})
    events = st.read_all()
    check_events(events)
    results = events[0][1]
    ids = [i["book"]["id"] for i in results["items"]]
    assert ids and "pg-84" not in ids and "pg-345" not in ids
    dense = [d for d in results["degraded"] if d["stage"] == "dense"]
    assert len(dense) == 1, results["degraded"]  # reported once, not once per seed
