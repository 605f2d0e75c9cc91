"""Feedback: one vote per user per (request id, book), changing a vote, listing, taking a
vote back, input rules, and the administrators' statistics by day and by pipeline."""

import datetime

import pytest

from shop_support import Shop, assert_problem, call, unique

FEEDBACK = "/api/v1/feedback"
STATS = "/api/v1/admin/feedback/stats"


@pytest.fixture(scope="module")
def shop(shop_server):
    return shop_server


@pytest.fixture
def voter(shop):
    return shop.new_user("voter")


def vote(shop, user, request_id, book_id="pg-84", v="up", **extra):
    body = {"request_id": request_id, "book_id": book_id, "vote": v, **extra}
    return call(shop.client, "POST", FEEDBACK, body, token=user.token)


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


# ---- votes ----------------------------------------------------------------------------------


def test_vote_is_201(shop, voter):
    rid = unique("req-")
    r = vote(shop, voter, rid, query="gothic horror", comment="spot on")
    assert r.status == 201, r
    v = r.json()
    assert v["id"].startswith("fb_")
    assert (v["request_id"], v["book_id"], v["vote"], v["query"], v["comment"]) == (
        rid, "pg-84", "up", "gothic horror", "spot on")
    assert v["pipeline"] == "unknown"
    assert v["created_at"] == v["updated_at"]
    assert r.headers.get("cache-control") == "no-store"


def test_voting_again_changes_the_vote(shop, voter):
    rid = unique("req-")
    first = vote(shop, voter, rid, comment="first").json()
    r = vote(shop, voter, rid, v="down", comment=None, query="changed my mind")
    assert r.status == 200, r
    second = r.json()
    assert second["id"] == first["id"]
    assert second["vote"] == "down" and second["comment"] is None
    assert second["query"] == "changed my mind"
    assert second["created_at"] == first["created_at"]
    assert second["updated_at"] >= first["updated_at"]
    # still one vote
    items = shop.client.get(f"{FEEDBACK}?request_id={rid}", headers=voter.auth).json()["items"]
    assert [i["id"] for i in items] == [first["id"]] and items[0]["vote"] == "down"
    # another book of the same response is another vote
    r = vote(shop, voter, rid, book_id="pg-1342")
    assert r.status == 201 and r.json()["id"] != first["id"]


def test_list_get_and_delete(shop, voter):
    rid1, rid2 = unique("req-"), unique("req-")
    v1 = vote(shop, voter, rid1).json()
    v2 = vote(shop, voter, rid2, v="down").json()
    r = shop.client.get(FEEDBACK, headers=voter.auth)
    assert r.status == 200, r
    assert [i["id"] for i in r.json()["items"]] == [v2["id"], v1["id"]]  # newest first
    only1 = shop.client.get(f"{FEEDBACK}?request_id={rid1}", headers=voter.auth).json()["items"]
    assert only1 == [v1]
    assert shop.client.get(f"{FEEDBACK}?limit=1", headers=voter.auth).json()["items"] == [v2]
    assert shop.client.get(f"{FEEDBACK}?request_id=never-used",
                           headers=voter.auth).json()["items"] == []

    r = shop.client.get(f"{FEEDBACK}/{v1['id']}", headers=voter.auth)
    assert r.status == 200 and r.json() == v1
    r = call(shop.client, "DELETE", f"{FEEDBACK}/{v1['id']}", token=voter.token)
    assert r.status == 204, r
    assert_problem(shop.client.get(f"{FEEDBACK}/{v1['id']}", headers=voter.auth), 404,
                   "not-found")
    assert_problem(call(shop.client, "DELETE", f"{FEEDBACK}/{v1['id']}", token=voter.token), 404,
                   "not-found")
    assert [i["id"] for i in shop.client.get(FEEDBACK, headers=voter.auth).json()["items"]] == [
        v2["id"]]
    # after taking it back, voting again makes a new vote
    assert vote(shop, voter, rid1).status == 201


@pytest.mark.parametrize("vid", ["fb_nothing", "x", "a" * 65, "fb%20x"])
def test_unknown_vote_is_404(shop, voter, vid):
    assert_problem(shop.client.get(f"{FEEDBACK}/{vid}", headers=voter.auth), 404, "not-found")
    assert_problem(call(shop.client, "DELETE", f"{FEEDBACK}/{vid}", token=voter.token), 404,
                   "not-found")


def test_vote_on_an_unknown_book_is_422(shop, voter):
    r = vote(shop, voter, unique("req-"), book_id="no-such-book")
    assert_problem(r, 422, "unknown-book", field="book_id")
    assert shop.client.get(FEEDBACK, headers=voter.auth).json()["items"] == []


def test_a_vote_survives_its_books_deletion(shop, voter):
    book = shop.create_book()
    v = vote(shop, voter, unique("req-"), book_id=book["id"]).json()
    assert call(shop.client, "DELETE", f"/api/v1/admin/books/{book['id']}",
                token=shop.admin.token).status == 204
    r = shop.client.get(f"{FEEDBACK}/{v['id']}", headers=voter.auth)
    assert r.status == 200 and r.json()["book_id"] == book["id"]


@pytest.mark.parametrize("field,value", [
    ("vote", "sideways"), ("vote", "UP"), ("vote", ""), ("vote", 1), ("vote", None),
    ("vote", True),
    ("request_id", "bad id!"), ("request_id", ""), ("request_id", "r" * 129),
    ("request_id", "é"), ("request_id", 12), ("request_id", None),
    ("book_id", 84), ("book_id", None), ("book_id", "b" * 101),
    ("query", "q" * 501), ("query", 5), ("query", "bell\u0007"),
    ("comment", "c" * 2001), ("comment", ["x"]), ("comment", "nul\u0000byte"),
])
def test_bad_vote_fields_are_400(shop, voter, field, value):
    body = {"request_id": unique("req-"), "book_id": "pg-84", "vote": "up", field: value}
    r = call(shop.client, "POST", FEEDBACK, body, token=voter.token)
    assert_problem(r, 400, "invalid-parameter", field=field)
    assert shop.client.get(FEEDBACK, headers=voter.auth).json()["items"] == []


def test_vote_field_boundaries_are_accepted(shop, voter):
    r = vote(shop, voter, "r" * 128, query="q" * 500, comment="c" * 2000)
    assert r.status == 201, r
    r = vote(shop, voter, "A.b_c:d-9", query="é" * 500, comment="multi\nline\ttext")
    assert r.status == 201, r


@pytest.mark.parametrize("query", ["request_id=bad%20id", "request_id=", "request_id=" + "r" * 129,
                                   "limit=0", "limit=501", "limit=x", "limit=1&limit=2",
                                   "request_id=a&request_id=b"])
def test_bad_list_parameters_are_400(shop, voter, query):
    assert_problem(shop.client.get(f"{FEEDBACK}?{query}", headers=voter.auth), 400,
                   "invalid-parameter")


# ---- statistics -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stats_shop(store):
    """A shop of its own, with a known set of votes."""
    s = Shop.start(store)
    users = [s.new_user("stats") for _ in range(3)]
    rid = unique("req-")
    before = today()
    for u, v in zip(users, ("up", "up", "down")):
        assert vote(s, u, rid, v=v).status == 201
    assert vote(s, users[0], rid, book_id="pg-1342", v="up").status == 201
    # a changed vote counts once, as it is now
    assert vote(s, users[2], rid, book_id="pg-1342", v="up").status == 201
    assert vote(s, users[2], rid, book_id="pg-1342", v="down").status == 200
    s.vote_day = today()
    assert s.vote_day == before, "the votes straddle midnight UTC; run again"
    yield s
    s.kill()


def stats(shop, query=""):
    r = shop.client.get(f"{STATS}{'?' if query else ''}{query}", headers=shop.admin.auth)
    assert r.status == 200, r
    return r.json()


def test_stats_counts_and_rates(stats_shop):
    s = stats(stats_shop)
    day = stats_shop.vote_day.isoformat()
    assert (s["up"], s["down"]) == (3, 2)
    assert s["up_rate"] == pytest.approx(0.6)
    assert s["by_day"] == [{"day": day, "up": 3, "down": 2, "up_rate": pytest.approx(0.6)}]
    assert s["by_pipeline"] == [{"pipeline": "unknown", "up": 3, "down": 2,
                                 "up_rate": pytest.approx(0.6)}]
    assert s["by_day_and_pipeline"] == [{"day": day, "pipeline": "unknown", "up": 3, "down": 2,
                                         "up_rate": pytest.approx(0.6)}]


def test_stats_filters(stats_shop):
    d = stats_shop.vote_day
    day, prev, nxt = d.isoformat(), (d - datetime.timedelta(days=1)).isoformat(), \
        (d + datetime.timedelta(days=1)).isoformat()
    for q in (f"from={day}", f"to={day}", f"from={day}&to={day}", f"from={prev}&to={nxt}",
              "pipeline=unknown", f"from=2000-01-01&to=2100-12-31&pipeline=unknown"):
        s = stats(stats_shop, q)
        assert (s["up"], s["down"]) == (3, 2), (q, s)
    empty = {"up": 0, "down": 0, "up_rate": 0, "by_day": [], "by_pipeline": [],
             "by_day_and_pipeline": []}
    for q in (f"to={prev}", f"from={nxt}", "pipeline=v2-reranker", f"from={nxt}&to={prev}"):
        assert stats(stats_shop, q) == empty, q


@pytest.mark.parametrize("query", ["from=2024-13-01", "from=2024-1-01", "from=yesterday",
                                   "to=20240101", "to=2024-01-32", "from=2024-00-10",
                                   "to=2024-01-01T00:00:00Z", "from=",
                                   "from=2024-01-01&from=2024-01-02",
                                   "pipeline=" + "p" * 201])
def test_stats_bad_parameters_are_400(stats_shop, query):
    assert_problem(stats_shop.client.get(f"{STATS}?{query}", headers=stats_shop.admin.auth), 400,
                   "invalid-parameter")


def test_stats_rejects_impossible_dates(stats_shop):
    """`from`/`to` are `format: date` (RFC 3339 full-date): a day that does not exist is a
    400 like any other malformed date, not an empty or shifted window."""
    accepted = []
    for q in ("from=2023-02-29", "to=2024-02-30", "from=2024-04-31"):
        r = stats_shop.client.get(f"{STATS}?{q}", headers=stats_shop.admin.auth)
        if r.status != 400:
            accepted.append((q, r.status))
        else:
            assert_problem(r, 400, "invalid-parameter")
    assert accepted == [], f"impossible dates accepted: {accepted}"


def test_stats_of_an_empty_shop(shop):
    # the module's shop may have votes; a window before any vote is empty
    s = stats(shop, "to=2001-01-01")
    assert s == {"up": 0, "down": 0, "up_rate": 0, "by_day": [], "by_pipeline": [],
                 "by_day_and_pipeline": []}
