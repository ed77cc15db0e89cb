"""Schema extensions declared by subclassing, stored without storage code."""

import pytest
from django.test import override_settings

from drf_scim.constants import ENTERPRISE_USER_SCHEMA, USER_SCHEMA
from drf_scim.models import SCIMUser
from tests.helpers import BASE, user_body

ACME = "urn:acme:params:scim:schemas:extension:2.0:User"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("acme_serializer")]


@pytest.fixture
def acme_serializer():
    with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.AcmeUserSerializer"}):
        yield


def test_custom_extension_round_trips(api):
    acme = {"favouriteColour": "teal", "badges": [{"number": "7", "site": "HQ"}, {"number": "9"}]}
    body = user_body(schemas=[USER_SCHEMA, ACME], **{ACME: acme, ENTERPRISE_USER_SCHEMA: {"division": "R&D"}})
    response = api.post(f"{BASE}/Users", body)
    assert response.status_code == 201, response.body
    created = response.body
    assert created[ACME] == acme
    assert created[ENTERPRISE_USER_SCHEMA] == {"division": "R&D"}
    assert created["schemas"] == [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ACME]
    assert SCIMUser.objects.get().data["acme"] == acme
    assert api.get(f"{BASE}/Users/{created['id']}").body == created


def test_extension_attributes_are_validated(api):
    response = api.post(f"{BASE}/Users", user_body(**{ACME: {"badges": [{"number": 7}]}}))
    assert response.status_code == 400
    assert response.body["scimType"] == "invalidValue"
    assert f"{ACME}.badges" in response.body["detail"]


def test_replace_without_the_extension_clears_it(api):
    created = api.post(f"{BASE}/Users", user_body(**{ACME: {"favouriteColour": "teal"}})).body
    replaced = api.put(f"{BASE}/Users/{created['id']}", user_body())
    assert replaced.status_code == 200
    assert ACME not in replaced.body
    assert replaced.body["schemas"] == [USER_SCHEMA]
    assert "acme" not in SCIMUser.objects.get().data


def test_extension_urn_matches_ignoring_case(api):
    response = api.post(f"{BASE}/Users", user_body(**{ACME.upper(): {"FAVOURITECOLOUR": "red"}}))
    assert response.status_code == 201
    assert response.body[ACME] == {"favouriteColour": "red"}
