"""scim2-tester (pinned in the dev extra) checks the server in-process, for every resource type it discovers."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import close_old_connections
from django.test import override_settings
from scim2_client.engines.wsgi import WSGISCIMClient
from scim2_tester import Status, check_server

SUCCESS = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


@pytest.fixture
def scim_client(db):
    # Django's WSGI handler closes "old" connections around each request, which would close the
    # test transaction's connection; django.test.Client disconnects them the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        out = io.StringIO()
        call_command("scim_token", client="scim2-tester", stdout=out)
        token = out.getvalue().strip().splitlines()[-1]
        yield WSGISCIMClient(
            WSGIHandler(), base_url="http://testserver/scim/v2", headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_scim2_tester_reports_no_failure(scim_client):
    # scim2-models 0.12 predates RFC 9967 and forbids attributes RFC 7643 does not list: it would reject the
    # whole ServiceProviderConfig for its securityEvents, which is what EVENTS_ADVERTISE is for.
    with override_settings(DRF_SCIM={**settings.DRF_SCIM, "EVENTS_ADVERTISE": False}):
        results = check_server(scim_client)
    checked_types = {result.resource_type for result in results}
    assert {"User", "Group", "Device"} <= checked_types, "scim2-tester ran no check on some resource type"
    failures = [result for result in results if result.status not in SUCCESS | {Status.SKIPPED}]
    report = "\n".join(f"{r.status.name:9} {r.title}[{r.resource_type or '-'}]: {r.reason}" for r in failures)
    assert not failures, f"{len(failures)} of {len(results)} checks failed:\n{report}"
    statuses = Counter(result.status.name for result in results)
    print(f"scim2-tester: {len(results)} checks, {dict(statuses)}")
    assert statuses["SUCCESS"] >= 100
    skipped = [f"{r.title}[{r.resource_type}]: {r.reason}" for r in results if r.status == Status.SKIPPED]
    assert not skipped, "\n".join(skipped)
