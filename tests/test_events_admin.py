"""SCIM events in the Django admin: receivers (write-only credentials, checked endpoints), deliveries and retries."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from jwcrypto import jwk
from oauth2_provider.models import get_application_model

from drf_scim.events import outbox
from drf_scim.models import SCIMEventDelivery, SCIMEventReceiver

pytestmark = pytest.mark.django_db

RECEIVERS = "/admin/drf_scim/scimeventreceiver/"
DELIVERIES = "/admin/drf_scim/scimeventdelivery/"
EVENTS = "/admin/drf_scim/scimevent/"
KEY = jwk.JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()
SIGNING = {"EVENTS_SIGNING_KEY": KEY, "EVENTS_ISSUER": "https://scim.example.com/scim/v2"}
SECRET = "Bearer s3cr3t-receiver-token"


@pytest.fixture
def staff(db) -> Client:
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


def receiver(name: str = "Billing", **fields) -> SCIMEventReceiver:
    values = {"endpoint": "https://billing.example.com/events", "audience": "https://billing.example.com", **fields}
    return SCIMEventReceiver.objects.create(name=name, **values)


def form_data(**changes) -> dict:
    data = {
        "name": "Billing",
        "delivery": "push",
        "endpoint": "https://billing.example.com/events",
        "authorization": "",
        "client_id": "",
        "audience": "https://billing.example.com",
        "active": "on",
        **changes,
    }
    return {key: value for key, value in data.items() if value is not None}


def row_of(response, name: str) -> list[str]:
    html = response.content.decode()
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        if f">{name}<" in row:
            cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
            cells = [re.sub(r'<img [^>]*alt="(\w+)"[^>]*>', r"\1", cell) for cell in cells]  # the boolean icons
            return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
    raise AssertionError(f"no row for {name!r}")


def errors(response) -> str:
    return " ".join(
        re.sub(r"<[^>]+>", "", e)
        for e in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    )


# -- receivers ------------------------------------------------------------------------------------------------


def test_the_receivers_list_shows_counts_and_last_delivery_in_fixed_queries(staff, create_user):
    billing = receiver()
    create_user("one@example.com")
    create_user("two@example.com")
    outbox.fan_out()
    first, second = SCIMEventDelivery.objects.filter(receiver=billing).order_by("pk")
    outbox.delivered([first], status=202)
    outbox.failed(second, "invalid_request: no", status=400, final=True)
    staff.get(RECEIVERS)  # the session and content types, once
    with CaptureQueriesContext(connection) as one:
        response = staff.get(RECEIVERS)
    assert response.status_code == 200
    cells = row_of(response, "Billing")
    assert cells[2:9] == [
        "push (RFC 8935)",
        "https://billing.example.com/events",
        "every event",
        "False",
        "True",
        "0",
        "1",
    ]
    assert cells[9] != "never"
    assert "tenant" not in response.content.decode().split("<thead>")[1].split("</thead>")[0].lower()
    application = get_application_model().objects.create(
        name="Warehouse app", client_type="confidential", authorization_grant_type="client-credentials"
    )
    for n in range(3):
        receiver(f"Other {n}", delivery="poll", endpoint="", client_id=application.client_id, events=["prov:delete"])
    create_user("three@example.com")
    outbox.fan_out()
    with CaptureQueriesContext(connection) as four:
        response = staff.get(RECEIVERS)
    assert len(four) == len(one)
    other = row_of(response, "Other 0")
    assert other[3:5] == [f"Warehouse app ({application.client_id})", "prov:delete"]
    assert row_of(response, "Billing")[7:10] == ["1", "1", cells[9]]


def test_the_receivers_list_shows_tenants_with_a_tenant_resolver(staff, settings):
    settings.DRF_SCIM = {"TENANT_RESOLVER": "drf_scim.tenancy.application_tenant"}
    receiver(tenant="acme")
    response = staff.get(RECEIVERS)
    assert row_of(response, "Billing")[2] == "acme"
    assert 'name="tenant"' in staff.get(f"{RECEIVERS}add/").content.decode()


def test_adding_a_receiver_offers_the_events_as_checkboxes_and_stores_the_chosen(staff):
    page = staff.get(f"{RECEIVERS}add/").content.decode()
    for name in ("prov:create", "prov:put", "prov:patch", "prov:delete", "prov:activate", "prov:deactivate"):
        assert f'type="checkbox" name="events" value="{name}"' in page, name
    assert 'name="tenant"' not in page and 'name="clear_authorization"' not in page
    response = staff.post(
        f"{RECEIVERS}add/", form_data(events=["prov:create", "prov:deactivate"], authorization=SECRET, full="on")
    )
    assert response.status_code == 302, errors(response)
    stored = SCIMEventReceiver.objects.get()
    assert (stored.events, stored.authorization, stored.full, stored.tenant) == (
        ["prov:create", "prov:deactivate"],
        SECRET,
        True,
        "",
    )
    assert LogEntry.objects.get().object_repr == "Billing"


def test_the_authorization_header_is_never_shown_kept_when_blank_and_cleared_on_request(staff):
    billing = receiver(authorization=SECRET)
    url = f"{RECEIVERS}{billing.pk}/change/"
    page = staff.get(url).content.decode()
    assert "s3cr3t" not in page
    assert 'type="password" name="authorization"' in page and 'name="clear_authorization"' in page
    assert staff.post(url, form_data(name="Billing 2")).status_code == 302
    billing.refresh_from_db()
    assert (billing.name, billing.authorization) == ("Billing 2", SECRET)
    assert staff.post(url, form_data(authorization="Bearer new")).status_code == 302
    billing.refresh_from_db()
    assert billing.authorization == "Bearer new"
    assert staff.post(url, form_data(clear_authorization="on")).status_code == 302
    billing.refresh_from_db()
    assert billing.authorization == ""
    assert 'name="clear_authorization"' not in staff.get(url).content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"endpoint": "http://billing.example.com/events"}, "https URL"),
        ({"endpoint": ""}, "needs the URL its SETs are POSTed to"),
        ({"delivery": "poll", "endpoint": "", "client_id": ""}, "needs the client_id"),
        ({"delivery": "poll", "endpoint": "", "client_id": "nobody"}, "No OAuth2 application has the client_id"),
        ({"events": ["prov:nothing"]}, "Select a valid choice"),
    ],
)
def test_refuses_receivers_that_cannot_receive(staff, changes, message):
    response = staff.post(f"{RECEIVERS}add/", form_data(**changes))
    assert response.status_code == 200
    assert message in errors(response)
    assert not SCIMEventReceiver.objects.exists()


@pytest.mark.parametrize(
    ("endpoint", "debug"),
    [("http://127.0.0.1:8000/events/receiver", False), ("http://localhost/x", False), ("http://dev.test/x", True)],
)
def test_takes_http_endpoints_on_this_machine_or_with_debug(staff, settings, endpoint, debug):
    settings.DEBUG = debug
    assert staff.post(f"{RECEIVERS}add/", form_data(endpoint=endpoint)).status_code == 302
    assert SCIMEventReceiver.objects.get().endpoint == endpoint


def test_takes_a_poll_receiver_of_an_existing_application(staff):
    application = get_application_model().objects.create(
        name="Warehouse", client_type="confidential", authorization_grant_type="client-credentials"
    )
    data = form_data(delivery="poll", endpoint="", client_id=f" {application.client_id} ")
    assert staff.post(f"{RECEIVERS}add/", data).status_code == 302
    assert SCIMEventReceiver.objects.get().client_id == application.client_id


def test_refuses_a_poll_receiver_while_the_events_scope_is_not_declared(staff, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "SCOPES": {"scim:read": "Read", "scim:write": "Write"}}
    application = get_application_model().objects.create(
        name="Warehouse", client_type="confidential", authorization_grant_type="client-credentials"
    )
    response = staff.post(f"{RECEIVERS}add/", form_data(delivery="poll", endpoint="", client_id=application.client_id))
    assert response.status_code == 200
    assert (
        "Polling needs tokens with the scope &#x27;scim:events&#x27; (DRF_SCIM&#x27;s EVENTS_SCOPE), which "
        "OAUTH2_PROVIDER[&#x27;SCOPES&#x27;] does not declare"
    ) in errors(response)
    assert not SCIMEventReceiver.objects.exists()
    # an inactive one is taken: a receiver can be switched off whatever the scopes say
    data = form_data(delivery="poll", endpoint="", client_id=application.client_id, active=None)
    assert staff.post(f"{RECEIVERS}add/", data).status_code == 302
    assert not SCIMEventReceiver.objects.get().active


def test_the_receiver_page_shows_its_latest_deliveries_in_fixed_queries(staff, create_user):
    billing = receiver()
    create_user("one@example.com")
    outbox.fan_out()
    url = f"{RECEIVERS}{billing.pk}/change/"
    staff.get(url)
    with CaptureQueriesContext(connection) as few:
        page = staff.get(url).content.decode()
    delivery = SCIMEventDelivery.objects.get()
    assert str(delivery.jti) in page and "prov:create" in page
    for n in range(5):
        create_user(f"many{n}@example.com")
    outbox.fan_out()
    with CaptureQueriesContext(connection) as many:
        page = staff.get(url).content.decode()
    assert len(many) == len(few)
    assert page.count("<td>prov:create</td>") == 6


# -- deliveries -------------------------------------------------------------------------------------------------


def test_the_deliveries_list_is_read_only_filtered_by_state_and_receiver_in_fixed_queries(staff, create_user):
    billing, other = receiver(), receiver("Warehouse")
    create_user("one@example.com")
    outbox.fan_out()
    dead = SCIMEventDelivery.objects.get(receiver=billing)
    outbox.failed(dead, "invalid_audience: not me", status=400, final=True)
    staff.get(DELIVERIES)
    with CaptureQueriesContext(connection) as few:
        response = staff.get(DELIVERIES)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Add SCIM event delivery" not in page
    for name in ("state__exact", "receiver", "event__created__gte"):
        assert f"?{name}=" in page or f"&amp;{name}=" in page, name
    cells = row_of(response, str(dead.jti))
    assert cells[2:] == [
        "Billing",
        "prov:create",
        f"/Users/{dead.resource_id}",
        "failed (dead letter)",
        "0",  # (attempts are counted by claims)
        cells[7],
        "400",
        "invalid_audience: not me",
    ]
    for n in range(5):
        create_user(f"many{n}@example.com")
    outbox.fan_out()
    with CaptureQueriesContext(connection) as many:
        assert staff.get(DELIVERIES).status_code == 200
    assert len(many) == len(few)
    failed = staff.get(DELIVERIES, {"state__exact": "failed"}).content.decode()
    assert str(dead.jti) in failed and failed.count('name="_selected_action"') == 1
    mine = staff.get(DELIVERIES, {"receiver": str(other.pk)}).content.decode()
    assert str(dead.jti) not in mine and mine.count('name="_selected_action"') == 6


def test_a_delivery_shows_its_set_claims_and_never_the_receivers_authorization(staff, create_user, settings):
    settings.DRF_SCIM = SIGNING
    billing = receiver(authorization=SECRET, full=True)
    user = create_user("one@example.com")
    outbox.fan_out()
    delivery = SCIMEventDelivery.objects.get()
    page = staff.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()
    assert "s3cr3t" not in page and 'name="_save"' not in page
    assert f"&quot;jti&quot;: &quot;{delivery.jti}&quot;" in page
    assert "&quot;iss&quot;: &quot;https://scim.example.com/scim/v2&quot;" in page
    assert f"&quot;aud&quot;: &quot;{billing.audience}&quot;" in page
    assert f"&quot;uri&quot;: &quot;/Users/{user['id']}&quot;" in page
    assert "urn:ietf:params:scim:event:prov:create:full" in page
    assert staff.post(f"{DELIVERIES}{delivery.pk}/delete/").status_code == 403
    settings.DRF_SCIM = {}
    assert "EVENTS_ISSUER" in staff.get(f"{DELIVERIES}{delivery.pk}/change/").content.decode()


def test_retry_makes_dead_letters_pending_again_and_logs_it(staff, create_user):
    receiver()
    create_user("one@example.com")
    create_user("two@example.com")
    outbox.fan_out()
    SCIMEventDelivery.objects.update(attempts=10)
    first, second = SCIMEventDelivery.objects.order_by("pk")
    for delivery in (first, second):
        outbox.failed(delivery, "HTTP 503", status=503)
    response = staff.post(DELIVERIES, {"action": "retry", "_selected_action": [first.pk]}, follow=True)
    assert "1 deliveries will be sent again." in response.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.attempts, first.leased_until) == ("pending", 0, None)
    assert (second.state, second.attempts) == ("failed", 10)
    assert [entry.change_message for entry in LogEntry.objects.all()] == [
        "Retried: pending again, due now, attempts reset."
    ]
    assert [delivery.pk for delivery in outbox.claim(SCIMEventReceiver.objects.all(), 10)] == [first.pk]


def test_retry_needs_the_change_permission(create_user):
    receiver()
    create_user("one@example.com")
    outbox.fan_out()
    delivery = SCIMEventDelivery.objects.get()
    outbox.failed(delivery, "invalid_request", status=400, final=True)
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_scimeventdelivery"))
    client = Client()
    client.login(username="viewer", password="pw")
    page = client.get(DELIVERIES)
    assert page.status_code == 200 and 'value="retry"' not in page.content.decode()
    client.post(DELIVERIES, {"action": "retry", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.state == "failed"


def test_the_outbox_lists_events_read_only(staff, create_user):
    user = create_user("one@example.com")
    response = staff.get(EVENTS)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"/Users/{user['id']}" in page and "Add SCIM event" not in page
