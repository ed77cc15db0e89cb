"""The fast path (drf_scim.plans): what a viewset declares decides whether it keeps it, and W001 says where
an override turns it off."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import include, path
from rest_framework.filters import BaseFilterBackend

from drf_scim.filters.backends import SCIMFilterBackend, SCIMSortBackend
from drf_scim.plans import cacheable
from drf_scim.routers import SCIMRouter
from drf_scim.viewsets import UserViewSet
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db
LABEL = __name__


class UndeclaredNarrowingViewSet(UserViewSet):
    def get_base_queryset(self):
        return super().get_base_queryset().filter(is_staff=self.request.headers.get("X-Staff") == "1")


class DeclaredNarrowingViewSet(UserViewSet):
    @cacheable
    def get_base_queryset(self):
        return super().get_base_queryset().filter(is_staff=False)


class OptedOutViewSet(UserViewSet):
    fast_path = False

    def get_queryset(self):
        return super().get_queryset()


class HeaderTenantViewSet(UserViewSet):
    """The tenant from a header, as a per-viewset ``get_tenant()`` override (docs/howto/multi-tenancy.rst)."""

    def get_tenant(self):
        return self.request.headers.get("X-Org", "")


class StaffHeaderBackend(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        return queryset.filter(is_staff=request.headers.get("X-Staff") == "1")


class EarlierBackendViewSet(UserViewSet):
    filter_backends = [StaffHeaderBackend, SCIMFilterBackend, SCIMSortBackend]


def routes(viewset: type, prefix: str = "narrow") -> list:
    router = SCIMRouter(include_defaults=False)
    router.register("Users", viewset)
    return [path(f"scim/{prefix}/", include(router.urls))]


urlpatterns = (
    routes(UndeclaredNarrowingViewSet) + routes(HeaderTenantViewSet, "orgs") + routes(EarlierBackendViewSet, "staff")
)


def fast_path_warnings() -> list[str]:
    return [message.obj for message in run_checks() if message.id == "drf_scim.W001"]


def test_an_undeclared_override_of_a_queryset_hook_is_warned_about():
    with override_settings(ROOT_URLCONF=LABEL):
        assert fast_path_warnings() == [f"{LABEL}.UndeclaredNarrowingViewSet"]


def test_declared_overrides_and_opted_out_viewsets_are_not_warned_about():
    assert fast_path_warnings() == []  # tests.urls routes a @cacheable and a fast_path = False viewset


def test_an_undeclared_override_that_reads_the_request_answers_each_request(api, create_user):
    from django.contrib.auth import get_user_model

    user = create_user()
    get_user_model().objects.filter(username=user["userName"]).update(is_staff=True)
    with override_settings(ROOT_URLCONF=LABEL):
        for staff, status in (("0", 404), ("1", 200), ("0", 404)):
            response = api.get(f"/scim/narrow/Users/{user['id']}", HTTP_X_STAFF=staff)
            assert response.status_code == status
    assert api.get(f"{BASE}/Users/{user['id']}").status_code == 200


@pytest.mark.parametrize("fast_path", [True, False])
def test_lists_and_lookups_answer_the_same_with_the_fast_path_on_or_off(api, create_user, fast_path):
    ids = [create_user(f"user{n}@example.com")["id"] for n in range(3)]
    with override_settings(DRF_SCIM={"FAST_PATH": fast_path}):
        for _ in range(2):
            body = api.get(f"{BASE}/Users?count=2").body
            assert ([u["id"] for u in body["Resources"]], body["totalResults"]) == (ids[:2], 3)
            found = api.get(f'{BASE}/Users?filter=userName eq "user1@example.com"').body["Resources"]
            assert [u["id"] for u in found] == [ids[1]]
            assert api.get(f"{BASE}/Users/{ids[2]}").body["userName"] == "user2@example.com"


def test_a_viewset_that_chooses_its_tenant_keeps_each_tenants_rows_apart(api):
    with override_settings(ROOT_URLCONF=LABEL):
        ids = {}
        for org in ("acme", "globex"):
            response = api.post("/scim/orgs/Users", user_body(f"{org}@example.com"), HTTP_X_ORG=org)
            assert response.status_code == 201, response.body
            ids[org] = response.body["id"]
        for _ in range(2):  # the second time from the plans the first built
            for org, other in (("acme", "globex"), ("globex", "acme")):
                listed = api.get("/scim/orgs/Users", HTTP_X_ORG=org).body
                assert [user["id"] for user in listed["Resources"]] == [ids[org]]
                found = api.get(f'/scim/orgs/Users?filter=userName eq "{other}@example.com"', HTTP_X_ORG=org)
                assert found.body["totalResults"] == 0
                assert api.get(f"/scim/orgs/Users/{ids[other]}", HTTP_X_ORG=org).status_code == 404
                assert api.get(f"/scim/orgs/Users/{ids[org]}", HTTP_X_ORG=org).status_code == 200


def test_a_backend_before_the_filter_narrows_every_filtered_page(api, create_user):
    from django.contrib.auth import get_user_model

    user = create_user()
    get_user_model().objects.filter(username=user["userName"]).update(is_staff=True)
    lookup = f'/scim/staff/Users?filter=userName eq "{user["userName"]}"'
    with override_settings(ROOT_URLCONF=LABEL):
        for staff, total in (("1", 1), ("0", 0), ("1", 1), ("0", 0)):
            assert api.get(lookup, HTTP_X_STAFF=staff).body["totalResults"] == total
            assert len(api.get(lookup, HTTP_X_STAFF=staff).body["Resources"]) == total


def test_a_viewset_with_the_old_plan_key_hook_is_refused_when_declared():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match=r"get_queryset_cache_key\(\) is renamed get_plan_key"):

        class OldKeyViewSet(UserViewSet):
            def get_queryset_cache_key(self):
                return super().get_queryset_cache_key()
