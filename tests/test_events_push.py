"""Push delivery of SCIM events (RFC 8935) to a real HTTP receiver: what is sent, retries and dead letters,
order per resource, racing workers, ``manage.py scim_events`` and the Celery task, and what it costs."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from io import StringIO

import jwt
import pytest
import requests
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drf_scim.constants import BULK_REQUEST_SCHEMA
from drf_scim.events import outbox, tokens
from drf_scim.events.push import PushWorker
from drf_scim.models import SCIMEvent, SCIMEventDelivery, SCIMEventReceiver
from tests.helpers import BASE, patch_body, user_body

pytestmark = pytest.mark.django_db
EVENT = "urn:ietf:params:scim:event:"
State = SCIMEventDelivery.State


@pytest.fixture
def pushed_to(event_server, events_on):
    """A push receiver at the test's HTTP receiver, expecting a bearer token."""
    return SCIMEventReceiver.objects.create(
        name="siem", endpoint=event_server.url, audience="https://siem.example.com", authorization="Bearer s3cret"
    )


def verified(body: str, audience: str = "https://siem.example.com") -> dict:
    """The claims of a SET, verified with PyJWT (not the jwcrypto that signed it) and the published JWK Set."""
    [public] = tokens.public_jwks()["keys"]
    assert jwt.get_unverified_header(body) == {"alg": "RS256", "typ": "secevent+jwt", "kid": public["kid"]}
    return jwt.decode(body, jwt.PyJWK(public).key, algorithms=["RS256"], audience=audience)


def delivery() -> SCIMEventDelivery:
    [found] = SCIMEventDelivery.objects.all()
    return found


def drain(worker: PushWorker, rounds: int = 10) -> None:
    for _ in range(rounds):
        if not SCIMEventDelivery.objects.filter(state=State.PENDING).exists() and outbox.fan_out() == 0:
            return
        worker.run_once()


# -- what is sent ------------------------------------------------------------------------------------------


def test_a_set_is_posted_signed_with_the_receivers_authorization_and_acknowledged(
    api, pushed_to, event_server, create_user
):
    user = create_user(externalId="bj")
    report = PushWorker().run_once()
    assert report.as_dict() == {"fanned_out": 1, "delivered": 1, "retried": 0, "failed": 0}
    [request] = event_server.requests
    assert request["path"] == "/events"
    assert request["headers"]["Content-Type"] == "application/secevent+jwt"
    assert request["headers"]["Accept"] == "application/json"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    claims = verified(request["body"])
    assert claims["iss"] == "https://scim.example.com/scim/v2"
    assert claims["aud"] == "https://siem.example.com"
    assert claims["sub_id"] == {"format": "scim", "uri": f"/Users/{user['id']}", "externalId": "bj"}
    assert list(claims["events"]) == [f"{EVENT}prov:create:notice"]
    done = delivery()
    assert (done.state, done.attempts, done.last_status, str(done.jti)) == (State.DELIVERED, 1, 202, claims["jti"])
    assert done.delivered is not None and done.lease is None
    with pytest.raises(jwt.InvalidAudienceError):
        verified(request["body"], audience="https://other.example.com")


def test_two_receivers_get_one_set_each_of_one_change_with_one_txn(api, pushed_to, event_server, create_user):
    SCIMEventReceiver.objects.create(name="crm", endpoint=event_server.url, audience="https://crm.example.com")
    create_user()
    assert PushWorker().run_once().delivered == 2
    by_audience = {}
    for request in event_server.requests:
        audience = "https://crm.example.com" if "Authorization" not in request["headers"] else pushed_to.audience
        by_audience[audience] = verified(request["body"], audience)
    siem, crm = by_audience[pushed_to.audience], by_audience["https://crm.example.com"]
    assert siem["txn"] == crm["txn"] and siem["jti"] != crm["jti"]


def test_bulk_pushes_one_set_per_operation(api, pushed_to, event_server):
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": user_body(f"u{n}@example.com")}
        for n in range(3)
    ]
    api.post(f"{BASE}/Bulk", {"schemas": [BULK_REQUEST_SCHEMA], "Operations": operations})
    assert PushWorker().run_once().delivered == 3
    subjects = [verified(request["body"])["sub_id"]["uri"] for request in event_server.requests]
    assert len(set(subjects)) == 3


# -- retries and dead letters ------------------------------------------------------------------------------


def test_a_failing_receiver_is_retried_until_it_recovers(api, settings, pushed_to, event_server, create_user):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_PUSH_TIMEOUT": 0.3}
    event_server.script = [500, "drop", ("sleep", 1.5)]
    create_user()
    worker = PushWorker()
    errors = []
    for expected in ("HTTP 500", "ConnectionError", "ReadTimeout"):
        report = worker.run_once()
        assert (report.delivered, report.retried, report.failed) == (0, 1, 0)
        errors.append(delivery().last_error)
        assert delivery().state == State.PENDING and delivery().lease is None
        assert expected in errors[-1], errors[-1]
    assert worker.run_once().delivered == 1
    done = delivery()
    assert (done.state, done.attempts, done.last_status, done.last_error) == (State.DELIVERED, 4, 202, "")
    assert len(event_server.requests) == 4
    assert len({verified(request["body"])["jti"] for request in event_server.requests}) == 1  # the same SET


def test_the_wait_before_a_retry_doubles(api, settings, pushed_to, event_server, create_user):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_RETRY_SECONDS": 30}
    event_server.script = [503, 503]
    create_user()
    waits = []
    for _ in range(2):
        before = timezone.now()
        assert PushWorker().run_once().retried == 1
        waits.append(delivery().next_attempt - before)
        assert PushWorker().run_once().attempted == 0  # not due yet
        SCIMEventDelivery.objects.update(next_attempt=timezone.now())
    assert timedelta(seconds=29) < waits[0] <= timedelta(seconds=31)
    assert timedelta(seconds=59) < waits[1] <= timedelta(seconds=61)


def test_a_set_the_receiver_rejects_is_a_dead_letter_at_once(api, pushed_to, event_server, create_user):
    event_server.script = [(400, {"err": "invalid_audience", "description": "not ours"})]
    create_user()
    report = PushWorker().run_once()
    assert (report.delivered, report.retried, report.failed) == (0, 0, 1)
    dead = delivery()
    assert (dead.state, dead.attempts, dead.last_status) == (State.FAILED, 1, 400)
    assert dead.last_error == "invalid_audience: not ours"
    assert PushWorker().run_once().attempted == 0


def test_a_400_without_an_error_body_is_retried(api, pushed_to, event_server, create_user):
    event_server.script = [400]
    create_user()
    assert PushWorker().run_once().retried == 1
    assert delivery().state == State.PENDING


def test_max_attempts_make_a_dead_letter_that_retry_puts_back(api, settings, pushed_to, event_server, create_user):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_MAX_ATTEMPTS": 2}
    event_server.script = [500, 500]
    create_user()
    assert PushWorker().run_once().retried == 1
    assert PushWorker().run_once().failed == 1
    assert (delivery().state, delivery().attempts) == (State.FAILED, 2)
    assert outbox.retry(SCIMEventDelivery.objects.filter(state=State.FAILED)) == 1
    assert (delivery().state, delivery().attempts) == (State.PENDING, 0)
    assert PushWorker().run_once().delivered == 1
    assert (delivery().state, delivery().attempts) == (State.DELIVERED, 1)


def test_a_resource_s_sets_arrive_in_order_even_when_one_fails(api, pushed_to, event_server, create_user):
    user = create_user()
    other = create_user("other@example.com")
    PushWorker().run_once()
    event_server.requests.clear()
    event_server.script = [500]
    for title in ("one", "two", "three"):
        api.patch(f"{BASE}/Users/{user['id']}", patch_body({"op": "replace", "path": "title", "value": title}))
    api.patch(f"{BASE}/Users/{other['id']}", patch_body({"op": "replace", "path": "title", "value": "other"}))
    drain(PushWorker())
    received = [verified(request["body"]) for request in event_server.requests]
    mine = [claims["jti"] for claims in received if claims["sub_id"]["uri"] == f"/Users/{user['id']}"]
    expected = SCIMEventDelivery.objects.filter(resource_id=user["id"]).order_by("event_id")
    assert mine[1:] == [str(d.jti) for d in expected][-3:]  # the first, failed, then the three in order
    assert mine[0] == mine[1]
    assert SCIMEventDelivery.objects.exclude(state=State.DELIVERED).count() == 0


# -- stopping ----------------------------------------------------------------------------------------------


class StoppingSession(requests.Session):
    """Stops its worker after the first push, as SIGTERM would."""

    worker: PushWorker

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        self.worker.stop()
        return response


def test_a_stopped_worker_finishes_the_push_under_way_and_releases_the_rest(api, pushed_to, event_server):
    for n in range(3):
        api.post(f"{BASE}/Users", user_body(f"u{n}@example.com"))
    session = StoppingSession()
    worker = session.worker = PushWorker(session=session)
    assert worker.run_once().delivered == 1
    assert len(event_server.requests) == 1
    waiting = SCIMEventDelivery.objects.filter(state=State.PENDING)
    assert [(d.attempts, d.lease, d.leased_until) for d in waiting] == [(0, None, None)] * 2
    worker.run_forever(0)  # returns at once: it is stopped
    assert PushWorker().run_once().delivered == 2


def test_deliver_runs_until_sigterm(api, pushed_to, event_server, create_user):
    create_user()

    def terminate_once_pushed() -> None:  # reads no database: SQLite's test database is this thread's
        for _ in range(200):
            if event_server.requests:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    killer = threading.Thread(target=terminate_once_pushed)
    out = StringIO()
    killer.start()
    call_command("scim_events", "deliver", "--interval", "0.05", stdout=out)
    killer.join()
    assert out.getvalue().splitlines()[-1] == "Stopped."
    assert len(event_server.requests) == 1
    assert delivery().state == State.DELIVERED
    assert signal.getsignal(signal.SIGTERM) is previous


# -- racing workers ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_deliver_each_set_once(api, pushed_to, event_server):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL's row locks (SKIP LOCKED)")
    for n in range(12):
        api.post(f"{BASE}/Users", user_body(f"u{n}@example.com"))
    event_server.delay = 0.05
    barrier = threading.Barrier(2)
    reports = []

    def work() -> None:
        try:
            barrier.wait()
            worker = PushWorker(batch_size=3)
            for _ in range(10):
                reports.append(worker.run_once())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    jtis = [verified(request["body"])["jti"] for request in event_server.requests]
    assert len(jtis) == len(set(jtis)) == 12
    assert sum(report.delivered for report in reports) == 12
    assert sum(report.fanned_out for report in reports) == 12
    assert set(SCIMEventDelivery.objects.values_list("state", flat=True)) == {State.DELIVERED}


# -- manage.py scim_events ---------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("scim_events", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def backing_off(events_on):
    """A failed SET waits a minute before its retry, so it is not retried within the same run."""
    events_on["EVENTS_RETRY_SECONDS"] = 60
    return events_on


def test_deliver_once_prints_the_report(api, pushed_to, event_server, create_user, backing_off):
    create_user()
    create_user("other@example.com")
    event_server.script = [500]
    output = run("deliver", "--once")
    assert output.splitlines()[0] == "Fanned out 2 event(s); delivered 1 SET(s), 1 to retry, 0 dead letter(s)."
    assert "HTTP 500" in output.splitlines()[1]
    assert run("deliver", "--once").startswith("Fanned out 0 event(s); delivered 0 SET(s)")  # still backing off
    outbox.retry(SCIMEventDelivery.objects.filter(state=State.PENDING))
    assert run("deliver", "--once", "--receiver", "siem").startswith("Fanned out 0 event(s); delivered 1 SET(s)")


def test_deliver_only_serves_the_receivers_named(api, pushed_to, event_server, create_user):
    other = SCIMEventReceiver.objects.create(name="crm", endpoint=event_server.url, audience="crm")
    create_user()
    assert "delivered 1 SET(s)" in run("deliver", "--once", "--receiver", str(other.pk))
    assert SCIMEventDelivery.objects.get(receiver=pushed_to).state == State.PENDING


def test_deliver_refuses_without_a_signing_key_or_an_issuer(api, settings, pushed_to):
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_SIGNING_KEY": None}
    with pytest.raises(CommandError, match=r"cannot be signed: .*EVENTS_SIGNING_KEY"):
        run("deliver", "--once")
    settings.DRF_SCIM = {**settings.DRF_SCIM, "EVENTS_SIGNING_KEY": "not a key"}
    with pytest.raises(CommandError, match=r"is no private key"):
        run("deliver", "--once")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deliver", "--receiver", "nobody"], "No event receiver named 'nobody'"),
        (["deliver", "--batch-size", "0"], "--batch-size must be 1 or more"),
        (["deliver", "--days", "3"], "--days: not an option of `scim_events deliver`"),
        (["prune", "--once"], "--once: not an option of `scim_events prune`"),
        (["prune", "--days", "0"], "--days must be 1 or more"),
        (["retry", "--receiver", "nobody"], "No event receiver named 'nobody'"),
    ],
)
def test_the_command_refuses_wrong_options_clearly(events_on, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_retry_puts_the_dead_letters_back(api, pushed_to, event_server, create_user):
    event_server.script = [(400, {"err": "invalid_key"})]
    create_user()
    run("deliver", "--once")
    assert run("retry", "--receiver", "siem") == "1 dead letter(s) pending again.\n"
    assert delivery().state == State.PENDING
    assert "delivered 1 SET(s)" in run("deliver", "--once")


def test_prune_deletes_the_old_delivered_events_only(api, pushed_to, event_server, create_user, backing_off):
    create_user("a@example.com")
    create_user("b@example.com")
    event_server.script = [500]
    run("deliver", "--once")  # a@ is pending, b@ delivered
    SCIMEvent.objects.update(created=timezone.now() - timedelta(days=40))
    assert run("prune", "--dry-run") == "Would delete 1 event(s) delivered over 30 days ago.\n"
    assert run("prune", "--days", "50") == "Deleted 0 event(s) delivered over 50 days ago.\n"
    assert run("prune") == "Deleted 1 event(s) delivered over 30 days ago.\n"
    assert SCIMEvent.objects.count() == 1
    assert SCIMEventDelivery.objects.get().state == State.PENDING


# -- the Celery task ---------------------------------------------------------------------------------------


def test_the_celery_task_delivers_and_returns_its_report(api, pushed_to, event_server, create_user):
    from drf_scim.events.tasks import deliver_events

    create_user()
    result = deliver_events.apply(kwargs={"batch_size": 10})
    assert result.successful()
    assert result.get() == {"fanned_out": 1, "delivered": 1, "retried": 0, "failed": 0}
    assert deliver_events.name == "drf_scim.events.deliver_events"


def test_the_tasks_module_without_celery_says_what_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "celery", None)
    monkeypatch.delitem(sys.modules, "drf_scim.events.tasks", raising=False)
    with pytest.raises(ImportError, match=r"needs Celery \(`pip install celery`\).*scim_events deliver"):
        importlib.import_module("drf_scim.events.tasks")


# -- cost --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sets", [1, 5])
def test_a_delivery_round_costs_the_same_whatever_the_number_of_sets(api, pushed_to, event_server, sets):
    for n in range(sets):
        api.post(f"{BASE}/Users", user_body(f"u{n}@example.com"))
    with CaptureQueriesContext(connection) as queries:
        assert PushWorker().run_once().delivered == sets
    assert len(queries) == ROUND_QUERIES, "\n".join(q["sql"][:60] for q in queries)


# Fan-out (events, receivers, one INSERT of the deliveries, one UPDATE of the events); a claim (keys, one UPDATE
# leasing them, the deliveries with their events); one UPDATE of the acknowledged SETs; then an empty claim that
# ends the run. Each atomic block adds its SAVEPOINT and RELEASE (the test runs inside a transaction).
ROUND_QUERIES = 15


def test_signing_uses_no_deprecated_jwcrypto_api(events_on):
    """jwcrypto deprecated ``JWK.key_id``: a project running with warnings as errors would sign nothing."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert verified(tokens.sign({"aud": "https://siem.example.com", "jti": "1"}))["jti"] == "1"
