"""The cache of verified bearer tokens (TOKEN_CACHE_SECONDS, on by default; conftest turns it off elsewhere)."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from oauth2_provider.models import get_access_token_model

from drf_scim.authentication import token_cache

from .helpers import BASE

pytestmark = pytest.mark.django_db

AccessToken = get_access_token_model()


@pytest.fixture(autouse=True)
def token_cache_off():
    """Overrides conftest's fixture of this name: here tokens are cached, as by default (5 seconds)."""
    token_cache.forget()
    yield
    token_cache.forget()


def later(seconds: float):
    """Move the cache's clock forward."""
    now = time.monotonic()
    return mock.patch("drf_scim.authentication.time.monotonic", return_value=now + seconds)


def test_a_verified_token_is_not_looked_up_again(api, create_user, django_assert_num_queries):
    user = create_user()
    with django_assert_num_queries(1):  # the user (with its groups); the token comes from the cache
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200


def test_with_the_cache_off_every_request_looks_its_token_up(settings, api, create_user, django_assert_num_queries):
    user = create_user()
    settings.DRF_SCIM = {"TOKEN_CACHE_SECONDS": 0}
    with django_assert_num_queries(2):
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200
    with django_assert_num_queries(2):
        assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200


def test_a_token_deleted_in_this_process_is_refused_at_once(api):
    assert api.get(f"{BASE}/Users").status_code == 200
    AccessToken.objects.get().delete()
    response = api.get(f"{BASE}/Users")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_token_revoked_elsewhere_is_refused_once_the_entry_ends(api):
    assert api.get(f"{BASE}/Users").status_code == 200
    with mock.patch.object(token_cache, "forget"):  # as if another process revoked it
        AccessToken.objects.all().delete()
    with later(4):
        assert api.get(f"{BASE}/Users").status_code == 200  # within TOKEN_CACHE_SECONDS
    with later(6):
        assert api.get(f"{BASE}/Users").status_code == 401


def test_a_cached_token_still_expires_on_time(api):
    assert api.get(f"{BASE}/Users").status_code == 200
    expiry = AccessToken.objects.get().expires
    with mock.patch("django.utils.timezone.now", return_value=expiry + timedelta(seconds=1)):
        assert api.get(f"{BASE}/Users").status_code == 401


def test_a_token_bound_to_a_resource_is_checked_every_time(api, django_assert_num_queries):
    AccessToken.objects.update(resource=["http://testserver/scim/v2/Users"])
    assert api.get(f"{BASE}/Users").status_code == 200
    with django_assert_num_queries(2):  # the token again, and the count (no users: no page query)
        assert api.get(f"{BASE}/Users").status_code == 200


def test_scopes_are_still_checked_on_a_cached_token(make_token):
    from .conftest import SCIMClient

    client = SCIMClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read')}")
    assert client.get(f"{BASE}/Users").status_code == 200
    assert client.post(f"{BASE}/Users", {"userName": "x"}).status_code == 403  # cached, and still read-only


def test_a_token_given_a_new_value_in_this_process_loses_the_old_one_at_once(api):
    assert api.get(f"{BASE}/Users").status_code == 200
    token = AccessToken.objects.get()
    token.token = "a-brand-new-value"  # what DOT does to a refreshed token without rotation
    token.save()
    assert api.get(f"{BASE}/Users").status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer a-brand-new-value")
    assert api.get(f"{BASE}/Users").status_code == 200


def test_an_error_report_hides_the_bearer_token_of_the_request_that_failed(rf):
    """Django's error reports list each frame's variables; the token's are masked as sensitive."""
    from django.views.debug import ExceptionReporter
    from rest_framework.request import Request

    from drf_scim.authentication import SCIMOAuth2Authentication

    request = rf.get(f"{BASE}/Users", HTTP_AUTHORIZATION="Bearer not-for-the-logs-1234")
    failing = mock.patch.object(token_cache, "get", side_effect=RuntimeError("the cache failed"))
    with failing, pytest.raises(RuntimeError) as raised:
        SCIMOAuth2Authentication().authenticate(Request(request))
    reporter = ExceptionReporter(request, raised.type, raised.value, raised.tb)
    frames = {frame["function"]: dict(frame["vars"]) for frame in reporter.get_traceback_frames()}
    assert frames["authenticate"]["token"] == reporter.filter.cleansed_substitute
    assert "not-for-the-logs-1234" not in str(frames["authenticate"])
