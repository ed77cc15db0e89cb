"""Run by tests/test_custom_user_model.py with AUTH_USER_MODEL = custom_user.Account."""

import pytest

from drf_scim.constants import ENTERPRISE_USER_SCHEMA
from tests.custom_user.models import Account
from tests.helpers import BASE, user_body


@pytest.mark.django_db
def test_attributes_land_in_the_projects_own_columns(api, create_group):
    body = user_body(
        "ada@example.com",
        displayName="Ada Lovelace",
        name={"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        nickName="Countess",
        **{ENTERPRISE_USER_SCHEMA: {"department": "Engines", "costCenter": "42"}},
    )
    response = api.post(f"{BASE}/Users", body)
    assert response.status_code == 201, response.body
    created = response.body

    account = Account.objects.get()
    assert (account.email, account.given_name, account.family_name, account.full_name, account.department) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
        "Ada Lovelace",
        "Engines",
    )
    assert account.scim.data["nickName"] == "Countess"
    assert created["name"] == {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"}
    assert created[ENTERPRISE_USER_SCHEMA] == {"department": "Engines", "costCenter": "42"}

    group = create_group("Analysts", [created["id"]])
    fetched = api.get(f"{BASE}/Users/{created['id']}").body
    assert [g["value"] for g in fetched["groups"]] == [group["id"]]
    assert {**fetched, "groups": []} == created

    duplicate = api.post(f"{BASE}/Users", user_body("ADA@example.com"))
    assert duplicate.status_code == 409

    replaced = api.put(f"{BASE}/Users/{created['id']}", user_body("ada@example.com"))
    assert replaced.status_code == 200
    account.refresh_from_db()
    assert (account.full_name, account.department, account.given_name) == ("", "", "Barbara")


def test_the_account_serializer_passes_the_system_checks():
    from django.core.checks import run_checks

    assert [error for error in run_checks() if error.id.startswith("drf_scim")] == []
