"""RFC 8936 polling (POST /Events) and the SETs' signing keys (GET /Events/jwks), through HTTP with real tokens."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from jwcrypto import jwk, jws
from oauth2_provider.models import get_application_model

from drf_scim.constants import ERROR_SCHEMA
from drf_scim.events import views
from drf_scim.events.names import PREFIX
from drf_scim.models import SCIMEventDelivery, SCIMEventReceiver
from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db

KEY = jwk.JWK.generate(kty="RSA", size=2048)
ISSUER = "https://scim.example.com/scim/v2"
EVENTS = {"EVENTS_SIGNING_KEY": KEY.export_to_pem(private_key=True, password=None).decode(), "EVENTS_ISSUER": ISSUER}
CREATE = f"{PREFIX}prov:create:notice"


@pytest.fixture(autouse=True)
def signing():
    with override_settings(DRF_SCIM=EVENTS):
        yield


def events_settings(**extra):
    return override_settings(DRF_SCIM={**EVENTS, **extra})


def client_id(name: str) -> str:
    return get_application_model().objects.get(name=name).client_id


def client_with(token: str) -> SCIMClient:
    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def poller(make_token):
    """A poll receiver of the default tenant and a client holding a token of its application."""
    client = client_with(make_token("scim:events", client="poller"))
    client.receiver = SCIMEventReceiver.objects.create(
        name="Poller",
        delivery=SCIMEventReceiver.Delivery.POLL,
        audience="https://poller.example.com",
        client_id=client_id("poller"),
        created=timezone.now() - timedelta(seconds=1),
    )
    return client


def poll(client, body=None, **extra):
    data = {"returnImmediately": True} if body is None else body
    return client.post(f"{BASE}/Events", data, content_type="application/json", **extra)


def provision(api, count: int, prefix: str = "user") -> list[dict]:
    users = [api.post(f"{BASE}/Users", user_body(f"{prefix}{i}@example.com")).body for i in range(count)]
    assert all("id" in user for user in users), users
    return users


def verified(token: str) -> tuple[dict, dict]:
    """The header and claims of a SET, its signature checked with the key /Events/jwks serves."""
    keys = jwk.JWKSet.from_json(SCIMClient().get(f"{BASE}/Events/jwks").content)
    signed = jws.JWS()
    signed.deserialize(token)
    header = signed.jose_header
    signed.verify(keys.get_key(header["kid"]))
    return header, json.loads(signed.payload)


class TestPoll:
    def test_returns_the_pending_sets_of_its_receiver_signed(self, api, poller):
        users = provision(api, 2)
        response = poll(poller)
        assert response.status_code == 200, response.body
        assert response["Content-Type"] == "application/json"
        assert set(response.body) == {"sets", "moreAvailable"}
        assert response.body["moreAvailable"] is False
        sets = response.body["sets"]
        assert len(sets) == 2
        subjects = []
        for jti, token in sets.items():
            header, claims = verified(token)
            assert header["typ"] == "secevent+jwt" and header["alg"] == "RS256"
            assert claims["jti"] == jti
            assert claims["iss"] == ISSUER
            assert claims["aud"] == "https://poller.example.com"
            assert list(claims["events"]) == [CREATE]
            subjects.append(claims["sub_id"]["uri"])
        assert sorted(subjects) == sorted(f"/Users/{user['id']}" for user in users)

    def test_gets_neither_another_receivers_nor_another_tenants_sets(self, api, poller, make_token):
        make_token("scim:events", client="other")
        other = SCIMEventReceiver.objects.create(
            name="Other", delivery="poll", audience="https://other.example.com", client_id=client_id("other")
        )
        out = StringIO()
        with events_settings(TENANT_RESOLVER="drf_scim.tenancy.application_tenant"):
            call_command("scim_token", "--client", "globex", "--tenant", "globex", stdout=out)
            globex = client_with(out.getvalue().strip().splitlines()[-1])
            SCIMEventReceiver.objects.create(
                name="Globex", tenant="globex", delivery="poll", audience="g", client_id=client_id("globex")
            )
            # The poller's application, named as a receiver of the other tenant: its token acts for the default one.
            SCIMEventReceiver.objects.create(
                name="Poller in Globex", tenant="globex", delivery="poll", audience="pg", client_id=client_id("poller")
            )
            assert globex.post(f"{BASE}/Users", user_body("secret@globex.com")).status_code == 201
            mine = provision(api, 1)[0]
            sets = poll(poller).body["sets"]
        assert [verified(token)[1]["sub_id"]["uri"] for token in sets.values()] == [f"/Users/{mine['id']}"]
        assert [verified(token)[1]["aud"] for token in sets.values()] == ["https://poller.example.com"]
        assert other.deliveries.count() == 1 and str(other.deliveries.get().jti) not in sets

    def test_acknowledged_sets_are_not_sent_again(self, api, poller):
        provision(api, 2)
        sets = poll(poller).body["sets"]
        with events_settings(EVENTS_LEASE_SECONDS=0):
            response = poll(poller, {"ack": list(sets), "returnImmediately": True})
        assert response.status_code == 200
        assert response.body == {"sets": {}, "moreAvailable": False}
        assert set(SCIMEventDelivery.objects.values_list("state", flat=True)) == {"delivered"}

    def test_sets_handed_out_are_not_handed_out_again_while_their_lease_runs(self, api, poller):
        provision(api, 2)
        assert len(poll(poller).body["sets"]) == 2
        assert poll(poller).body == {"sets": {}, "moreAvailable": False}  # leased for EVENTS_LEASE_SECONDS (60)

    def test_unacknowledged_sets_come_back_once_their_lease_has_run_out(self, api, poller):
        provision(api, 2)
        with events_settings(EVENTS_LEASE_SECONDS=0):
            first = poll(poller).body["sets"]
            again = poll(poller).body["sets"]
        assert len(first) == 2
        assert again == first  # the same SETs: the same jti, the same token

    def test_max_events_and_more_available(self, api, poller):
        provision(api, 3)
        first = poll(poller, {"maxEvents": 2, "returnImmediately": True}).body
        assert len(first["sets"]) == 2 and first["moreAvailable"] is True
        second = poll(poller, {"maxEvents": 2, "returnImmediately": True, "ack": list(first["sets"])}).body
        assert len(second["sets"]) == 1 and second["moreAvailable"] is False
        assert not set(second["sets"]) & set(first["sets"])

    def test_max_events_is_capped_by_the_setting_which_is_also_the_default(self, api, poller):
        provision(api, 3)
        with events_settings(EVENTS_POLL_MAX_EVENTS=1):
            asked = poll(poller, {"maxEvents": 50, "returnImmediately": True}).body
            omitted = poll(poller, {"returnImmediately": True}).body
        assert len(asked["sets"]) == 1 and asked["moreAvailable"] is True
        assert len(omitted["sets"]) == 1 and omitted["moreAvailable"] is True

    def test_max_events_zero_acknowledges_only(self, api, poller):
        provision(api, 1)
        sets = poll(poller).body["sets"]
        provision_more = api.post(f"{BASE}/Users", user_body("late@example.com"))
        assert provision_more.status_code == 201
        response = poll(poller, {"maxEvents": 0, "ack": list(sets)})  # answers at once: nothing to wait for
        assert response.body == {"sets": {}, "moreAvailable": True}
        assert SCIMEventDelivery.objects.get(jti=next(iter(sets))).state == "delivered"
        assert SCIMEventDelivery.objects.get(state="pending").leased_until is None  # not handed out

    def test_set_errs_make_dead_letters_with_the_receivers_error(self, api, poller):
        provision(api, 2)
        rejected, accepted = list(poll(poller).body["sets"])
        body = {
            "ack": [accepted],
            "setErrs": {rejected: {"err": "invalid_key", "description": "Key ID 12345 has been revoked."}},
            "returnImmediately": True,
        }
        with events_settings(EVENTS_LEASE_SECONDS=0):
            assert poll(poller, body).body == {"sets": {}, "moreAvailable": False}
        dead = SCIMEventDelivery.objects.get(jti=rejected)
        assert (dead.state, dead.last_error) == ("failed", "invalid_key: Key ID 12345 has been revoked.")
        assert SCIMEventDelivery.objects.get(jti=accepted).state == "delivered"

    def test_a_set_err_without_description_keeps_the_code(self, api, poller):
        provision(api, 1)
        (jti,) = poll(poller).body["sets"]
        poll(poller, {"setErrs": {jti: {"err": "invalid_request"}}, "returnImmediately": True})
        assert SCIMEventDelivery.objects.get(jti=jti).last_error == "invalid_request"

    def test_acks_of_other_receivers_sets_change_nothing(self, api, poller, make_token):
        other_client = client_with(make_token("scim:events", client="other"))
        SCIMEventReceiver.objects.create(name="Other", delivery="poll", audience="o", client_id=client_id("other"))
        provision(api, 1)
        (theirs,) = poll(other_client).body["sets"]
        poll(poller, {"ack": [theirs], "setErrs": {str(uuid.uuid4()): {"err": "x"}}, "returnImmediately": True})
        assert SCIMEventDelivery.objects.get(jti=theirs).state == "pending"

    def test_return_immediately_answers_at_once_with_no_sets(self, poller, monkeypatch):
        monkeypatch.setattr(views.time, "sleep", pytest.fail)
        response = poll(poller, {"returnImmediately": True})
        assert response.status_code == 200
        assert response.body == {"sets": {}, "moreAvailable": False}

    def test_an_empty_body_polls_with_the_defaults(self, api, poller):
        provision(api, 1)
        with events_settings(EVENTS_POLL_WAIT_SECONDS=0):
            response = poller.post(f"{BASE}/Events", content_type="application/json")
        assert response.status_code == 200 and len(response.body["sets"]) == 1


class FakeClock:
    """time.monotonic and time.sleep of the poll view: sleeping moves the clock, and may run ``on_sleep``."""

    def __init__(self, on_sleep=None):
        self.now = 1000.0
        self.sleeps = 0
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        if self.on_sleep:
            self.on_sleep(self)


class TestLongPoll:
    def test_waits_no_longer_than_the_setting_in_a_bounded_number_of_queries(
        self, poller, monkeypatch, django_assert_num_queries
    ):
        clock = FakeClock()
        monkeypatch.setattr(views, "time", clock)
        with events_settings(EVENTS_POLL_WAIT_SECONDS=3), django_assert_num_queries(QUERIES["long poll"]):
            response = poll(poller, {})
        assert response.body == {"sets": {}, "moreAvailable": False}
        assert clock.sleeps == 3  # looked at t=0, 1, 2, 3

    def test_answers_as_soon_as_a_set_is_due(self, api, poller, monkeypatch):
        provision(api, 1)
        (jti,) = poll(poller).body["sets"]  # leased, so not due while it waits

        def lease_runs_out(clock):
            if clock.sleeps == 2:
                SCIMEventDelivery.objects.filter(jti=jti).update(leased_until=timezone.now() - timedelta(seconds=1))

        clock = FakeClock(lease_runs_out)
        monkeypatch.setattr(views, "time", clock)
        response = poll(poller, {"maxEvents": 5})
        assert list(response.body["sets"]) == [jti]
        assert clock.sleeps == 2

    def test_zero_wait_disables_long_polling(self, poller, monkeypatch):
        monkeypatch.setattr(views.time, "sleep", pytest.fail)
        with events_settings(EVENTS_POLL_WAIT_SECONDS=0):
            assert poll(poller, {}).body == {"sets": {}, "moreAvailable": False}


# The token (1) and the receivers (1); then each look at the outbox: the events to fan out (1) and the due SETs
# (1), each in an atomic block (a savepoint pair in tests, nothing in production). Fanning out a batch adds the
# receivers, the deliveries and the flag (3); SETs due add the lease and reading them back (2); a full page
# the check for more (1); acknowledgements one UPDATE.
QUERIES = {"long poll": 2 + 4 * 6, "first poll": 13, "ack and poll": 14}


class TestQueryCounts:
    @pytest.mark.parametrize("users", [1, 5])
    def test_a_poll_costs_the_same_whatever_the_number_of_sets(self, api, poller, users, django_assert_num_queries):
        provision(api, users)
        with django_assert_num_queries(QUERIES["first poll"]):
            response = poll(poller)
        assert len(response.body["sets"]) == users
        acks = list(response.body["sets"])
        provision(api, users, prefix="more")
        with django_assert_num_queries(QUERIES["ack and poll"]):
            response = poll(poller, {"ack": acks, "returnImmediately": True})
        assert len(response.body["sets"]) == users


class TestRefusals:
    def test_401_without_a_token(self, anon):
        response = poll(anon)
        assert response.status_code == 401
        assert response.body["schemas"] == [ERROR_SCHEMA] and response.body["status"] == "401"
        assert response["WWW-Authenticate"].startswith("Bearer")

    def test_403_without_the_events_scope(self, api, poller):
        response = poll(api)
        assert response.status_code == 403
        assert response.body["detail"] == "The access token lacks the scope scim:events."
        assert 'scope="scim:events"' in response["WWW-Authenticate"]

    @pytest.mark.parametrize("receiver", [None, {"delivery": "push"}, {"active": False}])
    def test_403_without_an_active_poll_receiver(self, make_token, receiver):
        client = client_with(make_token("scim:events", client="stranger"))
        if receiver is not None:
            fields = {"delivery": "poll", "active": True, **receiver}
            SCIMEventReceiver.objects.create(name="S", audience="s", client_id=client_id("stranger"), **fields)
        response = poll(client)
        assert response.status_code == 403
        assert response.body["schemas"] == [ERROR_SCHEMA]
        assert "No active poll receiver is configured for the OAuth2 client" in response.body["detail"]

    @pytest.mark.parametrize(
        ("body", "scim_type", "detail"),
        [
            ([], "invalidSyntax", "A poll request is a JSON object"),
            ({"maxEvents": -1}, "invalidValue", "maxEvents must be an integer, 0 or more"),
            ({"maxEvents": "10"}, "invalidValue", "maxEvents must be an integer"),
            ({"maxEvents": True}, "invalidValue", "maxEvents must be an integer"),
            ({"maxEvents": 1.5}, "invalidValue", "maxEvents must be an integer"),
            ({"returnImmediately": "true"}, "invalidValue", "returnImmediately must be true or false"),
            ({"ack": "3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1"}, "invalidValue", "ack must be an array"),
            ({"ack": ["not-a-jti"]}, "invalidValue", "ack: 'not-a-jti' is not the jti of a SET of this service"),
            ({"ack": [42]}, "invalidValue", "ack: 42 is not the jti"),
            ({"ack": ["{3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1}"]}, "invalidValue", "is not the jti"),
            ({"setErrs": []}, "invalidValue", "setErrs must be an object"),
            ({"setErrs": {"nope": {"err": "invalid_key"}}}, "invalidValue", "setErrs: 'nope' is not the jti"),
            ({"setErrs": {"3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1": "bad"}}, "invalidValue", 'with an "err" code'),
            ({"setErrs": {"3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1": {"err": ""}}}, "invalidValue", '"err" code'),
            (
                {"setErrs": {"3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1": {"err": "x", "description": 5}}},
                "invalidValue",
                "description must be a string",
            ),
            (
                {
                    "ack": ["3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1"],
                    "setErrs": {"3d0c3cf7-97a8-4e0a-9a4c-c3a1e24bd4d1": {"err": "x"}},
                },
                "invalidValue",
                "is both acknowledged and reported in setErrs",
            ),
        ],
    )
    def test_400_for_a_body_that_is_no_poll_request(self, poller, body, scim_type, detail):
        response = poll(poller, body)
        assert response.status_code == 400, response.body
        assert response.body["schemas"] == [ERROR_SCHEMA]
        assert response.body["scimType"] == scim_type
        assert detail in response.body["detail"]

    def test_400_for_invalid_json(self, poller):
        response = poll(poller, '{"ack": [')
        assert (response.status_code, response.body["scimType"]) == (400, "invalidSyntax")

    def test_400_for_too_many_acks_and_nothing_applied(self, api, poller):
        provision(api, 2)
        sets = list(poll(poller).body["sets"])
        body = {"ack": sets[:1], "setErrs": {sets[1]: {"err": "x"}}, "returnImmediately": True}
        with events_settings(EVENTS_POLL_MAX_ACKS=1):
            response = poll(poller, body)
        assert response.status_code == 400
        assert response.body["detail"] == (
            "A poll may acknowledge or report at most 1 SETs (ack and setErrs together); this one names 2."
        )
        assert set(SCIMEventDelivery.objects.values_list("state", flat=True)) == {"pending"}

    def test_501_when_sets_cannot_be_signed(self, api, poller):
        provision(api, 1)
        with override_settings(DRF_SCIM={"EVENTS_ISSUER": ISSUER}):
            response = poll(poller)
        assert response.status_code == 501
        assert response.body["schemas"] == [ERROR_SCHEMA]
        assert "cannot sign SCIM events" in response.body["detail"]
        assert "EVENTS_SIGNING_KEY" in response.body["detail"]
        assert not SCIMEventDelivery.objects.filter(leased_until__isnull=False).exists()  # nothing handed out

    def test_501_without_an_issuer(self, poller):
        with override_settings(DRF_SCIM={"EVENTS_SIGNING_KEY": EVENTS["EVENTS_SIGNING_KEY"]}):
            response = poll(poller)
        assert response.status_code == 501
        assert "EVENTS_ISSUER" in response.body["detail"]


class TestJWKS:
    def test_serves_the_public_key_to_anyone_cacheable(self, anon, django_assert_num_queries):
        with django_assert_num_queries(0):
            response = anon.get(f"{BASE}/Events/jwks")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Cache-Control"] == "public, max-age=3600"
        (key,) = response.body["keys"]
        public = KEY.export_public(as_dict=True)
        assert key == {**public, "kid": KEY.thumbprint(), "use": "sig", "alg": "RS256"}
        assert "d" not in key

    def test_names_the_kid_the_sets_carry(self, api, poller, anon):
        provision(api, 1)
        (token,) = poll(poller).body["sets"].values()
        header, _ = verified(token)
        assert header["kid"] == anon.get(f"{BASE}/Events/jwks").body["keys"][0]["kid"]

    def test_501_when_no_key_is_configured(self, anon):
        with override_settings(DRF_SCIM={}):
            response = anon.get(f"{BASE}/Events/jwks")
        assert response.status_code == 501
        assert response.body["schemas"] == [ERROR_SCHEMA] and response.body["status"] == "501"
        assert "EVENTS_SIGNING_KEY" in response.body["detail"]
        assert response["Cache-Control"] == "no-store"

    def test_501_for_a_public_key(self, anon):
        with override_settings(DRF_SCIM={"EVENTS_SIGNING_KEY": KEY.export_to_pem().decode()}):
            response = anon.get(f"{BASE}/Events/jwks")
        assert response.status_code == 501
        assert "holds a public key" in response.body["detail"]
