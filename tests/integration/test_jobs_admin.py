"""The admin API of the job queue on both stores: list (newest first, filters, pages), inspect,
retry, cancel, statistics, the problems of bad input and wrong states, who may call it, and the
queue-depth metrics. Every response is checked against api/openapi.yaml by the client."""

from __future__ import annotations

import time

import pytest

from shop_support import Shop, assert_problem, call

pytestmark = pytest.mark.usefixtures("store")


@pytest.fixture(scope="module")
def shop(store):
    s = Shop.start(store)
    yield s
    s.kill()


def add_job(shop: Shop, kind: str, state: str = "queued", *, attempts: int = 0,
            max_attempts: int = 5, last_error: str | None = None, run_at_ms: int | None = None,
            dedup: str | None = None) -> int:
    now = int(time.time() * 1000)
    run_at = now if run_at_ms is None else run_at_ms
    err = "NULL" if last_error is None else "'" + last_error.replace("'", "''") + "'"
    key = "NULL" if dedup is None else f"'{dedup}'"
    finished = now if state in ("succeeded", "dead", "cancelled") else "NULL"
    shop.execute("INSERT INTO jobs (kind, payload, priority, state, run_at, attempts, max_attempts, "
                "last_error, dedup_key, created_at, updated_at, finished_at) VALUES "
                f"('{kind}', '{{\"n\": 1}}', 0, '{state}', {run_at}, {attempts}, {max_attempts}, "
                f"{err}, {key}, {now}, {now}, {finished})")
    rows = shop.sql(f"SELECT MAX(id) FROM jobs WHERE kind = '{kind}'")
    return int(rows[0][0])


def clear(shop: Shop) -> None:
    shop.execute("DELETE FROM jobs")


def get(shop: Shop, target: str, token: str | None = "admin"):
    tok = shop.admin.token if token == "admin" else token
    return call(shop.client, "GET", target, token=tok)


def post(shop: Shop, target: str, token: str | None = "admin"):
    tok = shop.admin.token if token == "admin" else token
    return call(shop.client, "POST", target, token=tok)


def test_only_admins_see_the_queue(shop):
    clear(shop)
    assert_problem(get(shop, "/api/v1/admin/jobs", token=None), 401)
    customer = shop.new_user()
    assert_problem(get(shop, "/api/v1/admin/jobs", token=customer.token), 403)
    assert_problem(get(shop, "/api/v1/admin/jobs/stats", token=customer.token), 403)
    job = add_job(shop, "it_auth")
    assert_problem(post(shop, f"/api/v1/admin/jobs/{job}/cancel", token=customer.token), 403)
    assert shop.sql(f"SELECT state FROM jobs WHERE id = {job}")[0][0] == "queued"


def test_an_empty_queue_lists_nothing(shop):
    clear(shop)
    r = get(shop, "/api/v1/admin/jobs")
    assert r.status == 200, r
    assert r.json() == {"items": [], "next_before": None}
    s = get(shop, "/api/v1/admin/jobs/stats").json()
    assert s["kinds"] == []
    assert s["totals"] == {"queued": 0, "running": 0, "failed": 0, "succeeded": 0, "dead": 0,
                           "cancelled": 0}


def test_jobs_are_listed_newest_first_filtered_and_paged(shop):
    clear(shop)
    ids = [add_job(shop, "it_a"), add_job(shop, "it_b"), add_job(shop, "it_a", "dead",
                                                                  attempts=5, last_error="boom")]
    items = get(shop, "/api/v1/admin/jobs").json()["items"]
    assert [j["id"] for j in items] == list(reversed(ids))
    dead = items[0]
    assert dead["state"] == "dead" and dead["last_error"] == "boom" and dead["attempts"] == 5
    assert dead["payload"] == {"n": 1}
    assert dead["finished_at"].endswith("Z")
    assert [j["id"] for j in get(shop, "/api/v1/admin/jobs?state=dead").json()["items"]] == [ids[2]]
    assert [j["id"] for j in get(shop, "/api/v1/admin/jobs?kind=it_a").json()["items"]] == \
        [ids[2], ids[0]]
    page1 = get(shop, "/api/v1/admin/jobs?limit=2").json()
    assert [j["id"] for j in page1["items"]] == [ids[2], ids[1]]
    assert page1["next_before"] == ids[1]
    page2 = get(shop, f"/api/v1/admin/jobs?limit=2&before={page1['next_before']}").json()
    assert [j["id"] for j in page2["items"]] == [ids[0]]
    assert page2["next_before"] is None


@pytest.mark.parametrize("query, field", [
    ("state=sleeping", "state"), ("limit=0", "limit"), ("limit=201", "limit"),
    ("before=0", "before"), ("before=x", "before"), ("kind=" + "k" * 65, "kind"),
])
def test_bad_list_parameters_are_400s(shop, query, field):
    r = get(shop, f"/api/v1/admin/jobs?{query}")
    assert_problem(r, 400)
    assert field in r.text()


def test_unknown_parameters_are_refused(shop):
    assert_problem(get(shop, "/api/v1/admin/jobs?sort=id"), 400, "unknown-parameter")
    assert_problem(get(shop, "/api/v1/admin/jobs/stats?x=1"), 400, "unknown-parameter")


def test_one_job_is_inspected_and_unknown_ids_are_404s(shop):
    job = add_job(shop, "it_get", "failed", attempts=1, last_error="try again")
    j = get(shop, f"/api/v1/admin/jobs/{job}").json()
    assert j["id"] == job and j["kind"] == "it_get" and j["state"] == "failed"
    assert j["worker_id"] is None and j["result"] is None
    assert_problem(get(shop, "/api/v1/admin/jobs/999999999"), 404)
    assert_problem(get(shop, "/api/v1/admin/jobs/abc"), 404)
    assert_problem(get(shop, "/api/v1/admin/jobs/-1"), 404)


def test_a_dead_job_is_retried_with_fresh_attempts_and_a_queued_one_is_a_conflict(shop):
    job = add_job(shop, "it_retry", "dead", attempts=5, last_error="smtp down")
    r = post(shop, f"/api/v1/admin/jobs/{job}/retry")
    assert r.status == 200, r
    j = r.json()
    assert j["state"] == "queued" and j["attempts"] == 0 and j["finished_at"] is None
    assert j["last_error"] == "smtp down"
    assert_problem(post(shop, f"/api/v1/admin/jobs/{job}/retry"), 409, "job-state")
    assert_problem(post(shop, "/api/v1/admin/jobs/999999999/retry"), 404)


def test_a_retry_that_would_duplicate_an_unfinished_job_is_a_conflict(shop):
    dead = add_job(shop, "it_dedup", "dead", attempts=1, dedup="order-1")
    add_job(shop, "it_dedup", "queued", dedup="order-1")
    r = post(shop, f"/api/v1/admin/jobs/{dead}/retry")
    assert_problem(r, 409, "job-duplicate")
    assert shop.sql(f"SELECT state FROM jobs WHERE id = {dead}")[0][0] == "dead"


def test_cancel_stops_an_unfinished_job_and_refuses_a_finished_one(shop):
    job = add_job(shop, "it_cancel")
    r = post(shop, f"/api/v1/admin/jobs/{job}/cancel")
    assert r.status == 200, r
    assert r.json()["state"] == "cancelled"
    assert_problem(post(shop, f"/api/v1/admin/jobs/{job}/cancel"), 409, "job-state")
    done = add_job(shop, "it_cancel", "succeeded")
    assert_problem(post(shop, f"/api/v1/admin/jobs/{done}/cancel"), 409, "job-state")
    # A cancelled job can be queued again.
    assert post(shop, f"/api/v1/admin/jobs/{job}/retry").json()["state"] == "queued"


def test_stats_count_by_kind_and_state_and_age_the_oldest_ready_job(shop):
    clear(shop)
    now = int(time.time() * 1000)
    add_job(shop, "it_s1", run_at_ms=now - 60_000)
    add_job(shop, "it_s1", "failed", attempts=1, run_at_ms=now - 1000)
    add_job(shop, "it_s1", "dead", attempts=5)
    add_job(shop, "it_s2", "succeeded")
    add_job(shop, "it_s2", run_at_ms=now + 3_600_000)  # not ready yet
    s = get(shop, "/api/v1/admin/jobs/stats").json()
    by_kind = {k["kind"]: k for k in s["kinds"]}
    assert by_kind["it_s1"]["counts"] == {"queued": 1, "running": 0, "failed": 1, "succeeded": 0,
                                          "dead": 1, "cancelled": 0}
    assert 59 <= by_kind["it_s1"]["oldest_ready_age_seconds"] < 600
    assert by_kind["it_s2"]["counts"]["succeeded"] == 1
    assert by_kind["it_s2"]["oldest_ready_age_seconds"] == 0  # future run_at: waiting, not late
    assert s["totals"]["queued"] == 2 and s["totals"]["dead"] == 1
    metrics = shop.client.get("/metrics", validate=False).text()
    assert 'libromind_jobs{kind="it_s1",state="dead"} 1' in metrics
    assert 'libromind_jobs{kind="it_s2",state="succeeded"} 1' in metrics
    assert "libromind_jobs_oldest_ready_age_seconds" in metrics
