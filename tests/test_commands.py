"""Management commands: scim_token and scim_seed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from oauth2_provider.models import get_access_token_model, get_application_model

from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


@pytest.mark.django_db
class TestScimToken:
    def test_prints_a_working_token_as_the_last_line(self):
        lines = run("scim_token", "--client", "Okta")
        token = lines[-1]
        assert "Created OAuth2 application 'Okta'" in lines[0]
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 201

    def test_reuses_the_application_of_a_client(self):
        first = run("scim_token", "--client", "Entra")[-1]
        lines = run("scim_token", "--client", "Entra", "--scopes", "scim:read", "--expires-days", "7")
        assert "Reused" in lines[0]
        assert lines[-1] != first
        assert get_application_model().objects.filter(name="Entra").count() == 1
        token = get_access_token_model().objects.get(scope="scim:read")
        client = SCIMClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {lines[-1]}")
        assert client.get(f"{BASE}/Users").status_code == 200
        assert client.post(f"{BASE}/Users", user_body()).status_code == 403
        assert (token.expires - token.created).days in (6, 7)

    @pytest.mark.parametrize("args", [["--client", " "], ["--client", "x", "--expires-days", "0"]])
    def test_rejects_bad_arguments(self, args):
        with pytest.raises(CommandError):
            call_command("scim_token", *args, stdout=StringIO())


@pytest.mark.django_db
def test_scim_seed_creates_users_and_groups(api):
    assert (
        run("scim_seed", "--users", "25", "--groups", "3", "--big-group", "20")[-1] == "Seeded 25 users and 4 groups."
    )
    users = api.get(f"{BASE}/Users?count=1").body
    assert users["totalResults"] == 25
    assert users["Resources"][0]["userName"] == "user1@example.com"
    assert users["Resources"][0]["emails"] == [{"value": "user1@example.com", "type": "work", "primary": True}]
    groups = api.get(f"{BASE}/Groups").body["Resources"]
    assert [len(g["members"]) for g in groups] == [10, 10, 10, 20]
    assert groups[-1]["displayName"] == "big"
    assert "Already seeded" in run("scim_seed")[-1]
    assert get_user_model().objects.count() == 25
