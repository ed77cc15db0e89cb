"""Mutability rules (RFC 7643 §2.2) on replace."""

import pytest
from django.test import override_settings

from tests.helpers import BASE, user_body

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("badge_serializer"),
]


@pytest.fixture
def badge_serializer():
    with override_settings(DRF_SCIM={"USER_SERIALIZER": "tests.testapp.serializers.BadgeUserSerializer"}):
        yield


def test_immutable_attribute_can_be_set_once_and_resent(api):
    created = api.post(f"{BASE}/Users", user_body(badgeNumber="B-1")).body
    assert created["badgeNumber"] == "B-1"
    same = api.put(f"{BASE}/Users/{created['id']}", user_body(badgeNumber="B-1", displayName="x"))
    assert same.status_code == 200
    assert same.body["displayName"] == "x"


def test_changing_an_immutable_attribute_is_a_mutability_error(api):
    created = api.post(f"{BASE}/Users", user_body(badgeNumber="B-1")).body
    response = api.put(f"{BASE}/Users/{created['id']}", user_body(badgeNumber="B-2", displayName="changed"))
    assert response.status_code == 400
    assert response.body["scimType"] == "mutability"
    assert "badgeNumber" in response.body["detail"]
    after = api.get(f"{BASE}/Users/{created['id']}").body
    assert after["badgeNumber"] == "B-1"
    assert "displayName" not in after


def test_replace_without_an_immutable_attribute_keeps_it(api):
    created = api.post(f"{BASE}/Users", user_body(badgeNumber="B-1")).body
    response = api.put(f"{BASE}/Users/{created['id']}", user_body())
    assert response.status_code == 200
    assert response.body["badgeNumber"] == "B-1"


def test_an_unset_immutable_attribute_can_be_assigned_later(api):
    created = api.post(f"{BASE}/Users", user_body()).body
    response = api.put(f"{BASE}/Users/{created['id']}", user_body(badgeNumber="B-9"))
    assert response.status_code == 200
    assert response.body["badgeNumber"] == "B-9"
