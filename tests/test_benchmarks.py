"""The benchmark's own parts (benchmarks/): the driver against a live server, the report, the query counter.

What they measure is not asserted here (timing never is); that they measure what they say is.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import driver  # noqa: E402
import profiles  # noqa: E402
import report  # noqa: E402
from querycount import QueryCountMiddleware  # noqa: E402

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, PATCH_OP_SCHEMA  # noqa: E402
from drf_scim.models import SCIMChange, SCIMEvent  # noqa: E402
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


@pytest.fixture
def in_test_transaction():
    """WSGI requests that leave the test's connection open, as Django's test client does: a request's start
    and end would otherwise close it, and with it the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_in_process_profile_times_a_workload_and_splits_its_time_by_layer_and_phase(
    make_token, in_test_transaction
):
    call_command("scim_seed", users=30, groups=2, big_group=12, stdout=open("/dev/null", "w"))  # noqa: SIM115
    server = profiles.InProcess(WSGIHandler(), "/scim/v2", make_token())
    data = driver.Dataset.discover(server, users=30, groups=2, big=12, samples=5, adds=4)
    result = profiles.profile_workload({"drf_scim": server}, data, "post", requests=3, warmup=1, top=5, rounds=3)
    assert result["label"] == "POST user"
    assert result["drf_scim"]["wall_us"] >= result["drf_scim"]["cpu_us"] * 0.5 > 0
    assert {"drf_scim.serializers", "DRF", "Django's ORM"} <= set(result["layers_us"])
    assert len(result["phases_us"]) == 5
    assert result["phases_us"][0][0].startswith(("rest_framework/", "drf_scim/"))
    # the warm-up, the timed requests and the profiled ones each created their users
    assert get_user_model().objects.filter(username__startswith="new-p").count() == 1 + 3 + 3
    assert "floor" not in result


def test_a_functions_own_time_is_counted_in_its_layer():
    assert profiles.layer_of("/x/site-packages/drf_scim/serializers/users.py") == "drf_scim.serializers"
    assert profiles.layer_of("/work/main/drf_scim/audit.py") == "drf_scim.audit"
    assert profiles.layer_of("/x/site-packages/rest_framework/fields.py") == "DRF"
    assert profiles.layer_of("/x/site-packages/django/db/models/query.py") == "Django's ORM"
    assert profiles.layer_of("/x/site-packages/psycopg/connection.py", "wait") == "waiting on PostgreSQL"
    assert profiles.layer_of("/x/site-packages/psycopg/connection.py", "execute") == "psycopg"
    assert profiles.layer_of("/usr/lib/python3.11/copy.py") == "Python (stdlib, other)"
    assert profiles.layer_of("~", "<built-in method builtins.getattr>") == "Python (stdlib, other)"


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
    found = (re.findall(r'(INSERT INTO|UPDATE) "(\w+)"', query["sql"]) for query in queries)
    return [(verb.split()[0], table) for matches in found for verb, table in matches]


def locks(queries: list[dict]) -> list[str]:
    return [re.search(r"FOR UPDATE.*", query["sql"])[0] for query in queries if "FOR UPDATE" in query["sql"]]


def assert_audited_alike(ours: str, floors: str) -> None:
    """The last audit rows and outbox events of two users record the same change (values of their own aside)."""

    def audited(scim_id: str) -> dict:
        change = SCIMChange.objects.filter(resource_id=scim_id).latest("pk")
        event = SCIMEvent.objects.get(change=change)
        return {
            "operation": change.operation,
            "changed": sorted(change.changes),
            "active": change.changes["active"],
            "events": event.events,
            "attributes": sorted(event.attributes),
            "version": event.version,
            "data": sorted(event.data),
        }

    assert audited(ours) == audited(floors)


@pytest.mark.django_db
def test_the_floor_writes_the_rows_drf_scim_writes_and_answers_the_users_drf_scim_answers(api):
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
    inserts += [("INSERT", "drf_scim_scimchange"), ("INSERT", "drf_scim_scimevent")]  # the audit row, the event
    assert written(our_post.captured_queries) == written(floor_post.captured_queries) == inserts
    assert_audited_alike(created["id"], floor_created["id"])
    # drf_scim reads the floor's user as one of its own (but for the names) and as the floor answered it
    read_back = api.get(f"{BASE}/Users/{floor_created['id']}").body
    assert read_back == {
        **created,
        "id": floor_created["id"],
        "userName": theirs.body["userName"],
        "name": theirs.body["name"],
        "emails": theirs.body["emails"],
        "meta": {**created["meta"], **{key: read_back["meta"][key] for key in ("created", "lastModified", "location")}},
    }
    assert floor_created == read_back

    def patch_active(scim_id: str) -> dict:  # the driver's PATCH of active (false, on its first pass)
        return next(driver.patch_active(driver.Dataset(1, 0, [scim_id], "", deque()), "test")).body

    with CaptureQueriesContext(connection) as ours_patched:
        patched = api.patch(f"{BASE}/Users/{created['id']}", patch_active(created["id"])).body
    request = factory.patch("", patch_active(floor_created["id"]), content_type="application/scim+json")
    with CaptureQueriesContext(connection) as floor_patched:
        floor_patched_user = json.loads(floor.detail(request, floor_created["id"]).content)
    updates = [("UPDATE", "auth_user"), ("UPDATE", "drf_scim_scimuser")]
    updates += [("INSERT", "drf_scim_scimchange"), ("INSERT", "drf_scim_scimevent")]
    assert written(ours_patched.captured_queries) == written(floor_patched.captured_queries) == updates
    assert_audited_alike(created["id"], floor_created["id"])
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

    # the floor reads and renders what drf_scim does of a user in groups, with a manager and a department
    for name in ("floor-a", "floor-b"):
        members = [{"value": floor_created["id"]}]
        assert (
            api.post(f"{BASE}/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name, "members": members}).status_code
            == 201
        )
    manager = {"op": "replace", "path": f"{ENTERPRISE_USER_SCHEMA}:manager", "value": {"value": created["id"]}}
    department = {"op": "add", "path": f"{ENTERPRISE_USER_SCHEMA}:department", "value": "Research"}
    assert (
        api.patch(
            f"{BASE}/Users/{floor_created['id']}", {"schemas": [PATCH_OP_SCHEMA], "Operations": [manager, department]}
        ).status_code
        == 200
    )
    ours_read = api.get(f"{BASE}/Users/{floor_created['id']}").body
    assert [group["display"] for group in ours_read["groups"]] == ["floor-a", "floor-b"]
    assert ours_read[ENTERPRISE_USER_SCHEMA]["manager"]["value"] == created["id"]
    assert ours_read[ENTERPRISE_USER_SCHEMA]["department"] == "Research"
    with CaptureQueriesContext(connection) as floor_reads:
        assert json.loads(floor.detail(factory.get(""), floor_created["id"]).content) == ours_read
        assert json.loads(floor.users(lookup).content)["Resources"] == [ours_read]
    assert len(floor_reads.captured_queries) == 2  # one statement each, as drf_scim's


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
    assert "Lookup by userName eq: at least 90% of the floor: 50.0% (not met)" in text
    assert "POST user: at least 85% of the floor: 50.0% (not met)" in text
    assert "A page of users: the same queries whatever the size: 1 user: 3, 100 users: 3 (met)" in text
    assert "Adding a member: the same queries whatever the size: a: 5, b: 6 (not met)" in text


def test_the_table_gives_the_spread_between_runs_as_a_range(tmp_path):
    several = sample_report()
    several["config"]["runs"] = 2
    for workload in several["workloads"]:
        floor = {"floor": 600.0} if workload["share_of_floor"] is not None else {}
        workload["runs"] = [
            {"rps": {"drf_scim": 280.0, "django-scim2": 100.0, **floor}, "speedup": 2.8, "share_of_floor": 0.47},
            {"rps": {"drf_scim": 320.0, "django-scim2": 100.0, **floor}, "speedup": 3.2, "share_of_floor": 0.53},
        ]
    path = tmp_path / "results.md"
    report.write_table(several, path)
    text = path.read_text()
    assert "2 runs one after the other, combined, with the lowest and highest run in parentheses" in text
    assert "| GET user by id | 300 (280 to 320) | 100 (100 to 100) | 3.00x (2.80x to 3.20x) |" in text
    assert "| 600 (50%, 47% to 53%) |" in text
    report.write_table(sample_report(), path)  # one run: no range
    assert "| GET user by id | 300 | 100 | 3.00x |" in path.read_text()


def test_targets_are_judged_on_the_measured_values_not_on_their_rounding():
    close = sample_report()
    for workload in close["workloads"]:
        workload["speedup"] = {"lookup": 1.958, "deep_page": 50.04}.get(workload["name"], workload["speedup"])
        workload["share_of_floor"] = 0.896 if workload["name"] == "get" else workload["share_of_floor"]
    lines = report.target_lines(close)
    assert "Lookup by userName eq: at least 2x django-scim2: 1.96x (not met; the floor: 6.00x)" in lines
    assert "Page of 100 users at 90%: at least 50x django-scim2: 50.0x (met)" in lines
    assert "GET user by id: at least 90% of the floor: 89.6% (not met)" in lines


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


def turns(*rates: float) -> list[driver.Measurement]:
    """One-second turns at these rates, each request 1 ms and 2 queries."""
    return [driver.Measurement.of([0.001] * int(rate), 1.0, [2] * int(rate), []) for rate in rates]


def test_compare_mirrors_the_rounds_so_each_revision_goes_first_as_often():
    import compare

    assert compare.round_order(5) == [
        ["before", "after"],
        ["after", "before"],
        ["before", "after"],
        ["after", "before"],
        ["before", "after"],
    ]
    assert [" ".join(order) for order in compare.round_order(2, ("A", "B"))] == ["A B", "B A"]


def test_compare_rates_both_revisions_over_their_turns_and_pairs_the_rounds():
    import compare

    figures = compare.compare_turns("GET user by id", turns(100, 200, 300), turns(110, 180, 330))
    assert (figures["before"]["rps"], figures["after"]["rps"]) == (200.0, 206.67)
    assert figures["before"]["rounds_rps"] == [100.0, 200.0, 300.0]
    assert figures["ratio"] == round(206.67 / 200.0, 4)  # after / before of requests per second
    assert figures["round_ratios"] == [1.1, 0.9, 1.1]
    assert figures["spread"] == {"min": 0.9, "median": 1.1, "max": 1.1}
    assert (figures["before"]["queries"], figures["after"]["requests"]) == (2, 620)
    with pytest.raises(ValueError, match="both sides"):
        compare.compare_turns("GET user by id", turns(100, 200), turns(100))


def test_compare_fails_under_a_ratio_only_when_asked_to():
    import compare

    workloads = {"lookup": {"ratio": 0.9499}, "get": {"ratio": 0.95}, "post": {"ratio": 1.2}}
    assert compare.failures(workloads, 0.95) == ["lookup"]
    assert compare.failures(workloads, 0.9) == []
    assert compare.failures(workloads, None) == []


def test_compare_writes_a_table_of_both_revisions_and_the_verdict():
    import compare

    workloads = {
        "lookup": compare.compare_turns("Lookup by userName eq", turns(1000, 1000), turns(900, 1000)),
        "post": compare.compare_turns("POST user", turns(50, 50), turns(60, 60)),
    }
    side = {"name": "HEAD", "commit": "0123456789abcdef", "dirty": False, "path": "/tmp/x"}
    report = {
        "date": "2026-12-02",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "before": side,
        "after": {**side, "name": "the working tree", "dirty": True},
        "config": {"users": 2000, "rounds": 2, "seconds_per_turn": 1.0, "concurrency": 4, "gunicorn_workers": 2},
        "fail_under": 0.95,
        "failures": compare.failures(workloads, 0.95),
        "workloads": workloads,
    }
    text = compare.markdown(report)
    assert "- after: the working tree (0123456789ab, with uncommitted changes)" in text
    assert "| Lookup by userName eq | 1,000 | 950 | 0.950 | 0.900 / 0.950 / 1.000 | 1.0 / 1.0 | 2 / 2 |" in text
    assert "| POST user | 50.0 | 60.0 | 1.200 | 1.200 / 1.200 / 1.200 | 1.0 / 1.0 | 2 / 2 |" in text
    assert text.strip().endswith("--fail-under 0.95: every workload at or above it.")
    report["failures"] = compare.failures(workloads, 1.0)
    assert "| 0.950 (below) |" in compare.markdown(report)
    assert compare.markdown(report).strip().endswith("--fail-under 0.95: below it: lookup.")


def test_an_empty_turn_is_a_measurement_of_nothing_and_stops_the_workload():
    empty = driver.Measurement.of([], 1.0, [], [])
    assert (empty.requests, empty.rps, empty.queries) == (0, 0.0, None)
    server = driver.Server("http://127.0.0.1:9/")  # never sent to: the stream is empty
    with pytest.raises(RuntimeError, match="ran out of requests"):
        driver.measure_turns({"a": (server, iter([]))}, [["a"]], seconds=0.1, concurrency=1)


def test_the_big_group_scales_with_the_users_and_a_size_that_does_not_fit_is_refused(capsys):
    import argparse

    import run

    def parsed(*args: str) -> argparse.Namespace:
        parser = argparse.ArgumentParser()
        run.add_arguments(parser)
        options = parser.parse_args(args)
        run.check_arguments(parser, options)
        return options

    assert parsed().big_group == 50_000
    assert parsed("--users", "10000").big_group == 5_000
    with pytest.raises(SystemExit):
        parsed("--users", "10000", "--big-group", "50000")
    assert "--big-group 50000 does not fit --users 10000" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parsed("--workloads", "lookup,nope")
    assert "unknown workloads: nope" in capsys.readouterr().err


def test_the_initial_cycle_creates_each_user_in_entras_order_then_fills_the_groups_in_batches_of_100():
    import entra

    cycle = entra.initial_cycle(users=450, groups=4)
    creation, filling = cycle.phases
    user_chains, group_chains = creation[:450], creation[450:]
    assert [[step.kind for step in chain] for chain in user_chains] == [
        ["lookup user", "POST user", "PATCH user externalId"]
    ] * 450
    assert [[step.kind for step in chain] for chain in group_chains] == [["lookup group", "POST group"]] * 4
    lookup, post, patch = user_chains[16]
    assert lookup.path == "/Users?filter=userName+eq+%22user17%40contoso.example.com%22"  # Entra's encoding
    assert (lookup.found, post.creates, patch.target) == (0, entra.Ref("u17"), entra.Ref("u17"))
    assert patch.body["Operations"] == [{"op": "Replace", "path": "externalId", "value": entra.object_id("user", 17)}]
    assert group_chains[0][0].path == "/Groups?filter=displayName+eq+%22Sync+group+1%22&excludedAttributes=members"
    # each user in one or two groups, every third in two; each group's members in batches of at most 100
    memberships = entra.memberships(450, 4)
    assert sum(len(members) for members in memberships.values()) == 450 + 150
    counts = [sum(n in members for members in memberships.values()) for n in range(1, 451)]
    assert set(counts) == {1, 2} and counts.count(2) == 150
    assert [len(members) for members in memberships.values()] == [151, 150, 149, 150]
    assert [len(chain) for chain in filling] == [2, 2, 2, 2]
    added = []
    for chain in filling:
        for step in chain:
            (operation,) = step.body["Operations"]
            assert (step.method, step.target.key[0], operation["op"], operation["path"]) == (
                "PATCH", "g", "Add", "members"
            )  # fmt: skip
            assert 0 < len(operation["value"]) <= entra.MEMBER_BATCH
            added += [(step.target.key, member["value"].key) for member in operation["value"]]
            assert all(member["$ref"] is None for member in operation["value"])
    assert sorted(added) == sorted((f"g{g}", f"u{n}") for g, members in memberships.items() for n in members)
    assert sum(1 for _ in cycle.steps()) == 450 * 3 + 4 * 2 + 8


def test_entras_bodies_carry_its_schemas_nulls_and_string_booleans():
    import entra

    user = entra.new_user(3)
    assert user["schemas"] == [entra.CORE_USER, entra.ENTERPRISE_USER]
    assert (user["meta"], user["roles"], user["active"]) == ({"resourceType": "User"}, [], True)
    assert user["emails"] == [{"primary": True, "type": "work", "value": "user3@contoso.example.com"}]
    assert user["name"] == {"formatted": "Given3 Family3", "familyName": "Family3", "givenName": "Given3"}
    assert "title" not in user
    nulls = entra.new_user(4)
    assert (nulls["title"], nulls["addresses"], nulls[entra.ENTERPRISE_USER]) == (
        None, None, {"department": None, "manager": None}
    )  # fmt: skip
    group = entra.new_group(2)
    assert group["schemas"] == [entra.CORE_GROUP, entra.AD_GROUP] and "members" not in group
    assert group["displayName"] == "Sync group 2"

    def deactivations(cycle: entra.Cycle) -> list:
        return [step.body["Operations"] for step in cycle.steps() if step.kind == "PATCH user active"]

    assert deactivations(entra.incremental_cycle(1000, 10))[0] == [
        {"op": "Replace", "path": "active", "value": "False"}
    ]
    adapted = entra.incremental_cycle(1000, 10, boolean_active=True)
    assert deactivations(adapted)[0] == [{"op": "Replace", "path": "active", "value": False}]


def test_the_incremental_cycle_looks_each_resource_up_before_changing_it():
    import entra

    cycle = entra.incremental_cycle(users=10_000, groups=100)
    assert entra.Sample.of(10_000, 100) == entra.Sample(lookups=1000, changes=100, deactivations=100, removals=100)
    (phase,) = cycle.phases
    kinds = [tuple(step.kind for step in chain) for chain in phase]
    assert kinds.count(("lookup user",)) == 800
    assert kinds.count(("lookup user", "PATCH user rename")) == 100
    assert kinds.count(("lookup user", "PATCH user active")) == 100
    assert kinds.count(("lookup group", "PATCH group remove member")) == 100
    assert all(chain[0].found == 1 for chain in phase)
    looked_up, renamed, deactivated = entra.sampled_users(10_000, 100)
    assert len(set(looked_up)) == 1000 and max(looked_up) > 9_000  # spread over all the users
    assert not set(renamed) & set(deactivated)
    memberships = entra.memberships(10_000, 100)
    for chain in phase:
        if chain[-1].kind == "PATCH group remove member":
            (operation,) = chain[-1].body["Operations"]
            assert (operation["op"], operation["path"]) == ("Remove", "members")
            (member,) = operation["value"]
            assert int(member["value"].key[1:]) in memberships[int(chain[-1].target.key[1:])]


class FakeSite:
    """A SCIM server in memory for the replay: answers lookups, creates ids, remembers the order of requests
    (a POST as the userName or displayName it creates)."""

    def __init__(self, refuse: str | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.refuse = refuse
        self.lock = threading.Lock()

    def send(self, request: driver.Request) -> tuple[int, bytes, dict[str, str]]:
        time.sleep(0.0005 * (threading.get_ident() % 3))  # the threads' requests interleave
        if self.refuse and self.refuse in json.dumps(request.body):
            return 400, b'{"detail": "no"}', {}
        with self.lock:
            if request.method == "POST":
                self.sent.append(("POST", request.body.get("userName") or request.body["displayName"]))
                return 201, json.dumps({"id": str(len(self.sent))}).encode(), {}
            self.sent.append((request.method, request.path))
        if request.method == "GET":
            return 200, b'{"totalResults": 0, "Resources": []}', {}
        return 204, b"", {}


def test_the_replay_keeps_each_resources_order_on_concurrent_clients_and_records_the_ids():
    import entra
    import full_sync

    site, ids = FakeSite(), {}
    outcome = full_sync.replay(site.send, entra.initial_cycle(60, 2), ids, concurrency=4)
    assert (outcome.requests, outcome.errors) == (60 * 3 + 2 * 2 + 2, 0)
    assert sorted(ids) == sorted([*(f"u{n}" for n in range(1, 61)), "g1", "g2"])
    for n in range(1, 61):
        lookup = site.sent.index(("GET", f"/Users?filter=userName+eq+%22user{n}%40contoso.example.com%22"))
        post = site.sent.index(("POST", entra.user_name(n)))
        assert ids[f"u{n}"] == str(post + 1)
        assert lookup < post < site.sent.index(("PATCH", f"/Users/{ids[f'u{n}']}"))
    first_member_patch = min(index for index, (_, path) in enumerate(site.sent) if path.startswith("/Groups/"))
    assert first_member_patch > max(index for index, (method, _) in enumerate(site.sent) if method == "POST")
    figures = outcome.as_dict()
    assert figures["by_kind"]["POST user"]["requests"] == 60
    assert figures["rps"] == round(outcome.requests / outcome.seconds, 1)


def test_the_replay_counts_refused_requests_and_what_could_not_be_sent_without_them():
    import entra
    import full_sync

    refused = full_sync.replay(FakeSite(refuse="user7@").send, entra.initial_cycle(10, 1), {}, concurrency=2)
    # user 7's POST is refused, its PATCH has no id to go to, and neither has the group's batch that names it
    assert refused.errors == 3
    assert any("POST /Users -> 400" in message for message in refused.messages)
    assert any("no id for 'u7'" in message for message in refused.messages)
    found = full_sync.replay(FakeSite().send, entra.incremental_cycle(100, 1), {"u1": "1", "g1": "1"}, 1)
    assert found.errors and "totalResults 0, not 1" in found.messages[0]


def test_the_sync_report_shows_each_site_and_cycle_the_ratio_and_what_was_adapted():
    import full_sync

    def cycle(seconds: float, requests: int, kinds: dict) -> dict:
        return {"seconds": seconds, "requests": requests, "rps": requests / seconds, "errors": 0, "messages": [],
                "by_kind": kinds}  # fmt: skip

    report = {
        "date": "2026-12-02",
        "machine": {
            "cpu": "Test CPU",
            "cores": 2,
            "memory_gib": 24,
            "postgresql": "15",
            "python": "3.11",
            "django": "5.2",
        },
        "config": {"users": 10_000, "groups": 100, "memberships": 13_333, "concurrency": 4, "gunicorn_workers": 2},
        "adaptations": {"drf_scim": [], "django-scim2": ["deactivation sent as a boolean"]},
        "sites": {
            "drf_scim": {
                "initial": cycle(100.0, 30_000, {"POST user": {"requests": 10_000, "p50_ms": 8.0}}),
                "incremental": cycle(2.0, 1_400, {}),
            },
            "django-scim2": {
                "initial": cycle(150.0, 30_000, {"POST user": {"requests": 10_000, "p50_ms": 9.5}}),
                "incremental": cycle(4.0, 1_400, {}),
            },
        },
        "read_back": {"drf_scim": [], "django-scim2": ["group 3: 1 members, not the 2 expected"]},
        "configured": {"django-scim2": "externalId mapped"},
    }
    text = full_sync.markdown(report)
    assert "| drf_scim | initial | 100.0 | 30,000 | 300.0 | 0 | no |" in text
    assert "| django-scim2 | incremental | 4.0 | 1,400 | 350.0 | 0 | deactivation sent as a boolean |" in text
    assert "Initial cycle, drf_scim / django-scim2 requests per second: 1.50x" in text
    assert "Incremental cycle, drf_scim / django-scim2 requests per second: 2.00x" in text
    assert "| initial | POST user | 8.0 (10,000) | 9.5 (10,000) |" in text
    assert "Read back from drf_scim after both cycles (groups' members, changed users): as planned." in text
    assert "django-scim2 after both cycles (groups' members, changed users): 1 differences from the plan" in text
    assert "Configured: django-scim2: externalId mapped." in text


def test_the_benchmarks_page_shows_the_recorded_full_sync():
    """docs/benchmarks.rst carries the figures of benchmarks/results/full_sync.json, as make bench-sync wrote them."""
    import full_sync

    recorded = json.loads((ROOT / "benchmarks" / "results" / "full_sync.json").read_text())
    assert full_sync.rst_tables(recorded) in (ROOT / "docs" / "benchmarks.rst").read_text()
    assert (ROOT / "benchmarks" / "results" / "full_sync.md").read_text() == full_sync.markdown(recorded)


@pytest.mark.django_db(transaction=True)
def test_the_curve_replays_its_workloads_with_cursors_at_90_percent_and_filters_that_match_a_few_users(live_scim):
    import curve

    data = curve.CurveData(**vars(driver.Dataset.discover(live_scim, users=30, groups=2, big=12, samples=5, adds=4)))
    data.cursors = curve.deep_cursors(live_scim, 30, samples=3)
    # 90% of 30 users: the cursor's page starts at user 28 (the list is in the order of creation)
    page = live_scim.call(driver.Request("GET", f"/Users?count=100&cursor={data.cursors[0]}"))
    assert [user["userName"] for user in page["Resources"]] == [f"user{n}@example.com" for n in (28, 29, 30)]
    assert "nextCursor" not in page
    for name in ("filter_co", "filter_ew"):  # users 1, 11 and 21 end in "1"
        path = next(curve.CURVE[name][1](data, "test")).path
        assert live_scim.call(driver.Request("GET", path))["totalResults"] == 3, name
    for name, (_label, workload) in curve.CURVE.items():
        result = driver.measure(live_scim, workload(data, "curve"), seconds=0.2, concurrency=1, at_least=4)
        assert result.requests >= 4, name
        assert result.errors == [], (name, result.errors)
    assert set(driver.WORKLOADS) - set(curve.CURVE) == {"big_group"}  # make bench's own workloads are unchanged


@pytest.mark.django_db
def test_the_curve_reads_how_postgresql_finds_the_filtered_users(make_token):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN of PostgreSQL")
    import curve

    call_command("scim_seed", users=30, groups=2, stdout=open("/dev/null", "w"))  # noqa: SIM115
    paths = {"filter_sw": "/Users?count=10&filter=" + quote(curve.FILTERS["filter_sw"](30))}
    found = curve.explained(paths, make_token())
    assert [query["query"] for query in found["filter_sw"]] == ["page"]  # the page holds the end: no COUNT
    query = found["filter_sw"][0]
    assert query["prepared_runs"] in ("custom", "generic")
    for kind in ("custom", "generic"):
        assert query[kind]["access"], kind  # an index of drf_scim_scimuser, or a sequential scan of it
        assert query[kind]["plan"][0].startswith("Limit")


def curve_report() -> dict:
    def size(users: int, rps: float) -> dict:
        result = {"requests": 10, "seconds": 1.0, "rps": rps, "p50_ms": 4.0, "p99_ms": 8.0, "queries": 2}
        sw = {"custom": {"access": ["drf_scim_user_name_prefix"], "cost": 8.5}, "prepared_runs": "custom"}
        plan = {"query": "count", **sw, "generic": {"access": ["sequential scan"], "cost": 1000.0}}
        return {
            "users": users,
            "filters": {"filter_sw": 'userName sw "user123"'},
            "seconds": {"seed": 1.0},
            "workloads": {
                "lookup": {**result, "rounds_rps": [rps - 5, rps + 5]},
                "deep_page": {**result, "rps": 40.0, "rounds_rps": [40.0]},
            },
            "plans": {"filter_sw": [plan]},
        }

    sample = sample_report()
    return {
        "date": "2026-12-02",
        "machine": sample["machine"],
        "load_average": [0.1, 0.2, 0.3],
        "config": {
            "sizes": [10_000, 1_000_000],
            "groups": 1000,
            "gunicorn_workers": 2,
            "concurrency": 4,
            "seconds_per_workload": 10,
            "rounds": 5,
            "warmup": 1,
        },
        "labels": {"lookup": "Lookup by userName eq", "deep_page": "Page of 100 users at 90%"},
        "sizes": [size(10_000, 100.0), size(1_000_000, 80.0)],
        "growth": {"lookup": 1.25, "deep_page": 1.0},
    }


def test_the_curve_table_flags_the_costs_that_grow_more_than_15_percent(tmp_path):
    import curve

    sample = curve_report()
    assert curve.growth(sample, "lookup") == 1.25
    text = curve.markdown(sample)
    assert "load average at the start 0.10" in text
    assert (
        "| Workload | 10k req/s | 10k p50 ms | 10k queries | 1M req/s | 1M p50 ms | 1M queries | cost 1M / 10k |"
        in text
    )
    assert "| Lookup by userName eq | 100.0 (95-105) | 4.0 | 2 | 80.0 (75-85) | 4.0 | 2 | **1.25** |" in text
    assert text.count("| 1.00 |") == 1  # the flat deep page, not flagged
    assert (
        '| `userName sw "user123"` | count | drf_scim_user_name_prefix (8) | sequential scan (1,000) | custom |' in text
    )
    pytest.importorskip("matplotlib")
    curve.write_chart(sample, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
