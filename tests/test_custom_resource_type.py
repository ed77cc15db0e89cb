"""A custom resource type: a model, a serializer and a viewset registered on the router."""

import uuid

import pytest

from tests.helpers import BASE
from tests.testapp.models import Device
from tests.testapp.views import DEVICE_SCHEMA

pytestmark = pytest.mark.django_db


def test_crud(api, django_assert_num_queries):
    response = api.post(f"{BASE}/Devices", {"schemas": [DEVICE_SCHEMA], "serialNumber": "SN-1", "managed": "true"})
    assert response.status_code == 201, response.body
    device = response.body
    assert device == {
        "schemas": [DEVICE_SCHEMA],
        "id": device["id"],
        "serialNumber": "SN-1",
        "managed": True,
        "meta": {
            "resourceType": "Device",
            "created": device["meta"]["created"],
            "lastModified": device["meta"]["lastModified"],
            "location": f"http://testserver{BASE}/Devices/{device['id']}",
            "version": 'W/"1"',
        },
    }
    stored = Device.objects.get()
    assert (str(stored.scim_id), stored.serial_number, stored.data) == (device["id"], "SN-1", {"managed": True})

    with django_assert_num_queries(2):  # token, device
        assert api.get(f"{BASE}/Devices/{device['id']}").body == device
    listed = api.get(f"{BASE}/Devices").body
    assert listed["Resources"] == [device]

    replaced = api.put(f"{BASE}/Devices/{device['id']}", {"serialNumber": "SN-1", "displayName": "Laptop"})
    assert replaced.status_code == 200
    assert replaced.body["displayName"] == "Laptop"
    assert "managed" not in replaced.body
    assert replaced.body["meta"]["version"] == 'W/"2"'

    assert api.post(f"{BASE}/Devices", {"serialNumber": "SN-1"}).body["scimType"] == "uniqueness"
    assert api.delete(f"{BASE}/Devices/{device['id']}").status_code == 204
    assert api.get(f"{BASE}/Devices/{device['id']}").status_code == 404


def test_errors_are_scim_errors(api):
    assert api.post(f"{BASE}/Devices", {"displayName": "no serial"}).body["scimType"] == "invalidValue"
    assert api.get(f"{BASE}/Devices/{uuid.uuid4()}").body["status"] == "404"
