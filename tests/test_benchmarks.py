"""The benchmark's own parts (benchmarks/): the driver against a live server, the report, the query counter.

What they measure is not asserted here (timing never is); that they measure what they say is.
"""

from __future__ import annotations

import json
import re
import sys
from collections import deque
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import driver  # noqa: E402
import report  # noqa: E402
from querycount import QueryCountMiddleware  # noqa: E402

from tests.helpers import BASE  # noqa: E402


def test_the_driver_talks_to_the_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        driver.Server("http://scim.example.com/scim/v2")
    assert driver.Server("http://127.0.0.1:8000/scim/v2/").prefix == "/scim/v2"


@pytest.mark.django_db
def test_the_query_counter_reports_the_queries_of_a_request():
    def view(request):
        list(get_user_model().objects.all())
        list(get_user_model().objects.all())
        return HttpResponse("ok")

    response = QueryCountMiddleware(view)(RequestFactory().get("/"))
    assert response["X-Queries"] == "2"


@pytest.fixture
def live_scim(live_server, make_token):
    call_command("scim_seed", users=30, groups=2, big_group=12, stdout=open("/dev/null", "w"))  # noqa: SIM115
    return driver.Server(f"{live_server.url}/scim/v2", make_token())


@pytest.mark.django_db(transaction=True)
def test_the_driver_finds_the_seeded_data_and_replays_every_workload(live_scim):
    data = driver.Dataset.discover(live_scim, users=30, groups=2, big=12, samples=5, adds=4)
    assert len(data.user_ids) == 5
    assert len(data.outsider_ids) == 4
    for name, (_label, workload) in driver.WORKLOADS.items():
        # one client: on SQLite the live server shares one connection between its threads
        # four requests at least, whatever the machine's speed: as many as there are outsiders to add
        result = driver.measure(live_scim, workload(data, "test"), seconds=0.2, concurrency=1, at_least=4)
        assert result.requests >= 4, name
        assert result.errors == [], (name, result.errors)
    # each outsider was added once, by the add-member workload
    assert not data.outsider_ids


@pytest.mark.django_db(transaction=True)
def test_the_driver_reports_errors_instead_of_hiding_them(live_scim):
    data = driver.Dataset(users=30, groups=2, user_ids=["not-an-id"], big_group_id="nope", outsider_ids=deque())
    result = driver.measure(live_scim, driver.get_user(data, "test"), seconds=0.1, concurrency=1)
    assert result.errors and "-> 404" in result.errors[0]


@pytest.mark.django_db(transaction=True)
def test_interleaved_sites_take_turns_and_their_slices_add_up(live_scim):
    data = driver.Dataset.discover(live_scim, users=30, groups=2, big=12, samples=5, adds=4)
    streams = {"get": (live_scim, driver.get_user(data, "t")), "lookup": (live_scim, driver.lookup(data, "t"))}
    results = driver.measure_interleaved(streams, seconds=0.4, concurrency=1, rounds=2, at_least=2)
    for name, result in results.items():
        assert result.errors == [], name
        assert result.requests == len(result.latencies) >= 4  # two turns of two requests at least
        assert result.rps == round(result.requests / result.seconds, 2)
        assert set(result.as_dict()) == {"requests", "seconds", "rps", "p50_ms", "p99_ms", "queries", "errors"}


def written(queries: list[dict]) -> list[tuple[str, str]]:
    """The tables a request inserted into or updated, in order, from captured queries."""
    found = (re.match(r'(INSERT INTO|UPDATE) "(\w+)"', query["sql"]) for query in queries)
    return [(match[1].split()[0], match[2]) for match in found if match]


def locks(queries: list[dict]) -> list[str]:
    return [re.search(r"FOR UPDATE.*", query["sql"])[0] for query in queries if "FOR UPDATE" in query["sql"]]


@pytest.mark.django_db
def test_the_floor_writes_the_rows_drf_scim_writes_and_drf_scim_reads_them_back(api):
    from drf_site import floor

    factory = RequestFactory()
    ours, theirs = next(driver.post_user(None, "drf")), next(driver.post_user(None, "floor"))
    with CaptureQueriesContext(connection) as our_post:
        created = api.post(f"{BASE}/Users", ours.body).body
    with CaptureQueriesContext(connection) as floor_post:
        response = floor.users(factory.post("/floor/Users", theirs.body, content_type="application/scim+json"))
    assert response.status_code == 201
    floor_created = json.loads(response.content)
    inserts = [("INSERT", "auth_user"), ("INSERT", "drf_scim_scimuser"), ("INSERT", "drf_scim_scimvalue")]
    audit_row = [("INSERT", "drf_scim_scimchange")]  # the audit trail, which the floor does not keep
    assert written(our_post.captured_queries) == written(floor_post.captured_queries) + audit_row
    assert written(floor_post.captured_queries) == inserts
    # drf_scim reads the floor's user as one of its own, but for the names and what the floor does not render
    read_back = api.get(f"{BASE}/Users/{floor_created['id']}").body
    assert read_back == {
        **created,
        "id": floor_created["id"],
        "userName": theirs.body["userName"],
        "name": theirs.body["name"],
        "emails": theirs.body["emails"],
        "meta": {**created["meta"], **{key: read_back["meta"][key] for key in ("created", "lastModified", "location")}},
    }
    assert floor_created == {key: value for key, value in read_back.items() if key not in ("groups", "meta")} | {
        "meta": {key: value for key, value in read_back["meta"].items() if key != "location"}
    }

    def patch_active(scim_id: str) -> dict:  # the driver's PATCH of active (false, on its first pass)
        return next(driver.patch_active(driver.Dataset(1, 0, [scim_id], "", deque()), "test")).body

    with CaptureQueriesContext(connection) as ours_patched:
        patched = api.patch(f"{BASE}/Users/{created['id']}", patch_active(created["id"])).body
    request = factory.patch("", patch_active(floor_created["id"]), content_type="application/scim+json")
    with CaptureQueriesContext(connection) as floor_patched:
        floor_patched_user = json.loads(floor.detail(request, floor_created["id"]).content)
    assert written(ours_patched.captured_queries) == written(floor_patched.captured_queries) + audit_row
    assert written(floor_patched.captured_queries) == [("UPDATE", "auth_user"), ("UPDATE", "drf_scim_scimuser")]
    assert locks(ours_patched.captured_queries) == locks(floor_patched.captured_queries)
    if connection.vendor == "postgresql":
        assert locks(floor_patched.captured_queries) == ['FOR UPDATE OF "drf_scim_scimuser"']
    assert (patched["active"], patched["meta"]["version"]) == (False, 'W/"2"')
    assert api.get(f"{BASE}/Users/{floor_created['id']}").body == {
        **read_back,
        "active": False,
        "meta": {**read_back["meta"], "version": 'W/"2"', "lastModified": floor_patched_user["meta"]["lastModified"]},
    }

    # active is is_active's value, as drf_scim reads it, also after a change made in Django alone
    get_user_model().objects.filter(username=ours.body["userName"]).update(is_active=True)
    floor_read = json.loads(floor.detail(factory.get(""), created["id"]).content)
    assert floor_read["active"] is api.get(f"{BASE}/Users/{created['id']}").body["active"] is True

    lookup = factory.get("/floor/Users", {"filter": f'userName eq "{theirs.body["userName"]}"'})
    found = json.loads(floor.users(lookup).content)
    assert (found["totalResults"], found["Resources"]) == (1, [floor_patched_user])


def test_slices_combine_into_one_measurement():
    fast = driver.Measurement.of([0.001] * 90, 1.0, [1] * 90, [])
    slow = driver.Measurement.of([0.010] * 10, 1.0, [3] * 10, ["GET /x -> 500"])
    combined = driver.Measurement.combine([fast, slow])
    assert (combined.requests, combined.seconds, combined.rps) == (100, 2.0, 50.0)
    assert (combined.p50_ms, combined.p99_ms, combined.queries) == (1.0, 10.0, 1)
    assert combined.errors == ["GET /x -> 500"]


def sample_report() -> dict:
    def result(rps: float, queries: int) -> dict:
        return {"requests": 100, "seconds": 10, "rps": rps, "p50_ms": 5.0, "p99_ms": 9.0, "queries": queries}

    workloads = []
    for name, (label, _) in driver.WORKLOADS.items():
        results = {"drf_scim": result(300.0, 1), "django-scim2": result(100.0, 3)}
        if name in ("lookup", "get", "post", "patch_active"):
            results["floor"] = result(600.0 if name in ("lookup", "get") else 150.0, 1)
        workloads.append(
            {
                "name": name,
                "label": label,
                "results": results,
                "speedup": 3.0,
                "share_of_floor": 0.5 if "floor" in results else None,
            }
        )
    return {
        "date": "2026-11-28",
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "memory_gib": 24,
            "python": "3.11",
            "django": "5.2",
            "postgresql": "15",
        },
        "config": {
            "users": 100_000,
            "groups": 1_000,
            "big_group": 50_000,
            "gunicorn_workers": 2,
            "concurrency": 4,
            "seconds_per_workload": 10,
        },
        "query_independence": {"A page of users": {"1 user": 3, "100 users": 3}, "Adding a member": {"a": 5, "b": 6}},
        "workloads": workloads,
    }


def test_the_table_shows_every_workload_and_judges_every_target(tmp_path):
    path = tmp_path / "results.md"
    report.write_table(sample_report(), path)
    text = path.read_text()
    for label, _ in driver.WORKLOADS.values():
        assert f"| {label} | 300 | 100 | 3.00x |" in text
    assert "Lookup by userName eq: at least 2x django-scim2: 3.00x (met; the floor: 6.00x)" in text
    assert "POST user: at least 2x django-scim2: 3.00x (met; the floor: 1.50x)" in text
    assert "Page of 100 users at 90%: at least 50x django-scim2: 3.00x (not met)" in text
    assert "at least 60% of the floor: 50.0% (not met)" in text
    assert "A page of users: the same queries whatever the size: 1 user: 3, 100 users: 3 (met)" in text
    assert "Adding a member: the same queries whatever the size: a: 5, b: 6 (not met)" in text


def test_targets_are_judged_on_the_measured_values_not_on_their_rounding():
    close = sample_report()
    for workload in close["workloads"]:
        workload["speedup"] = {"lookup": 1.958, "deep_page": 50.04}.get(workload["name"], workload["speedup"])
        workload["share_of_floor"] = 0.596 if workload["name"] == "get" else workload["share_of_floor"]
    lines = report.target_lines(close)
    assert "Lookup by userName eq: at least 2x django-scim2: 1.96x (not met; the floor: 6.00x)" in lines
    assert "Page of 100 users at 90%: at least 50x django-scim2: 50.0x (met)" in lines
    assert "GET user by id: at least 60% of the floor: 59.6% (not met)" in lines


def test_the_results_on_the_benchmarks_page_are_replaced_between_its_markers(tmp_path):
    page = tmp_path / "benchmarks.rst"
    page.write_text(f"Intro\n\n{report.RESULTS_START}\nold numbers\n{report.RESULTS_END}\n\nAfter\n")
    report.update_page(sample_report(), page, "../benchmarks/results/chart.png")
    text = page.read_text()
    assert "old numbers" not in text
    assert text.startswith("Intro\n") and text.endswith("\nAfter\n")
    assert ".. image:: ../benchmarks/results/chart.png" in text
    assert "   * - GET user by id\n     - 300\n     - 100\n     - 3.00x" in text
    import docutils.core

    docutils.core.publish_string(text, writer="null", settings_overrides={"halt_level": 2})


def test_the_chart_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "chart.png"
    report.write_chart(sample_report(), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_benchmarks_page_shows_the_recorded_results():
    """docs/benchmarks.rst carries the results of benchmarks/results/results.json, as make bench writes them."""
    recorded = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    page = (ROOT / "docs" / "benchmarks.rst").read_text()
    assert report.rst_section(recorded, "../benchmarks/results/chart.png") in page
    assert (ROOT / "benchmarks" / "results" / "chart.png").is_file()
