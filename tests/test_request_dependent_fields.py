"""Serializers whose fields depend on the tenant or the request: nothing built for one request serves another.

What drf_scim shares between requests (rendering copies of nested attributes, filter translators) is built
only for serializers whose fields are the same for every request; a validate() of a project sees the whole
resource on PATCH, as on PUT.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from rest_framework import serializers

from drf_scim.constants import PATCH_OP_SCHEMA
from drf_scim.serializers import UserSerializer
from drf_scim.serializers.users import NameSerializer
from drf_scim.tenancy import tenant_of
from tests.conftest import SCIMClient
from tests.helpers import BASE, user_body

pytestmark = pytest.mark.django_db


def serving(serializer_class: type) -> override_settings:
    return override_settings(DRF_SCIM={"USER_SERIALIZER": f"{__name__}.{serializer_class.__name__}"})


def header_tenant(request):
    return request.META.get("HTTP_X_TENANT", "")


class RestrictedNameSerializer(NameSerializer):
    """What tenant "acme" may see of a name: no familyName."""

    familyName = None


class PerTenantUserSerializer(UserSerializer):
    """get_fields varies per tenant; get_fields_cache_key says so (the documented hook)."""

    def get_fields(self):
        fields = super().get_fields()
        if tenant_of(self) == "acme":
            name = RestrictedNameSerializer(source="*", required=False)
            name.document_path = fields["name"].document_path
            fields["name"] = name
        return fields

    def get_fields_cache_key(self):
        return (type(self), tenant_of(self))

    class Meta(UserSerializer.Meta):
        pass


@pytest.fixture
def per_tenant():
    settings = {
        "TENANT_RESOLVER": "tests.test_request_dependent_fields.header_tenant",
        "USER_SERIALIZER": "tests.test_request_dependent_fields.PerTenantUserSerializer",
    }
    with override_settings(DRF_SCIM=settings):
        yield


@pytest.mark.usefixtures("per_tenant")
def test_a_tenant_whose_fields_leave_an_attribute_out_never_sees_it(api):
    created = api.post(f"{BASE}/Users", user_body("a@acme.com"), HTTP_X_TENANT="acme")
    assert created.status_code == 201, created.body
    get_user_model().objects.filter(scim__scim_id=created.body["id"]).update(last_name="Jensen")  # e.g. HR's
    read = api.get(f"{BASE}/Users/{created.body['id']}", HTTP_X_TENANT="acme")
    assert read.body["name"] == {"givenName": "Barbara"}, read.body["name"]


class ContextKeyedUserSerializer(PerTenantUserSerializer):
    """The same, reading the tenant the viewset always puts in the context."""

    def get_fields_cache_key(self):
        return (type(self), self.context["tenant"])


def test_a_fields_cache_key_that_reads_the_context_is_not_a_500(api, create_user):
    user = create_user()
    with serving(ContextKeyedUserSerializer):
        response = api.get(f"{BASE}/Users/{user['id']}")
    assert response.status_code == 200


class ScopedUserSerializer(UserSerializer):
    """title is HR data: only tokens with the scim:hr scope see it (get_fields reads the request, as the
    docs allow: its fields are then built per instance)."""

    def get_fields(self):
        fields = super().get_fields()
        auth = getattr(self.context.get("request"), "auth", None)
        if "scim:hr" not in getattr(auth, "scope", "").split():
            fields.pop("title")
        return fields

    class Meta(UserSerializer.Meta):
        pass


def test_filter_translator_sees_the_requests_fields(api, make_token, create_user):
    create_user("cfo@example.com", title="CFO")
    hr = SCIMClient()
    hr.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token('scim:read scim:write scim:hr')}")
    with serving(ScopedUserSerializer):
        assert api.get(f"{BASE}/Users").body["Resources"][0].get("title") is None  # hidden from api
        assert hr.get(f"{BASE}/Users").body["Resources"][0]["title"] == "CFO"
        response = hr.get(f'{BASE}/Users?filter=title eq "CFO"')
        assert response.status_code == 200, response.body
        assert [r["userName"] for r in response.body["Resources"]] == ["cfo@example.com"]


class RequestKeyedUserSerializer(UserSerializer):
    def get_fields(self):
        fields = super().get_fields()
        if self.context["request"].method == "GET":  # any use of the request the context always carries
            pass
        return fields

    class Meta(UserSerializer.Meta):
        pass


def test_a_serializer_that_reads_the_request_can_be_filtered(api, create_user):
    create_user("u@example.com")
    with serving(RequestKeyedUserSerializer):
        response = api.get(f'{BASE}/Users?filter=userName eq "u@example.com"')
    assert response.status_code == 200


class DomainCheckedUserSerializer(UserSerializer):
    """The usual DRF idiom: validate() checks complete data unless the update is partial."""

    def validate(self, attrs):
        if not self.partial and not attrs.get("username", "").endswith("@example.com"):
            raise serializers.ValidationError({"userName": "Must be an @example.com address."})
        return attrs

    class Meta(UserSerializer.Meta):
        pass


def test_a_validate_hook_sees_the_whole_resource_on_patch(api, create_user):
    user = create_user()
    with serving(DomainCheckedUserSerializer):
        body = {"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "replace", "path": "active", "value": False}]}
        response = api.patch(f"{BASE}/Users/{user['id']}", body)
    assert response.status_code == 200, response.body


class HiddenTitleUserSerializer(UserSerializer):
    """title is hidden from requests whose token lacks scim:hr (no request: a management command, all fields)."""

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and "scim:hr" not in getattr(request.auth, "scope", "").split():
            fields.pop("title")
        return fields

    class Meta(UserSerializer.Meta):
        pass


def test_a_hidden_attribute_cannot_be_probed_with_a_filter(api, create_user):
    create_user("cfo@example.com", title="CFO")
    create_user("dev@example.com", title="Developer")
    with serving(HiddenTitleUserSerializer):
        assert all("title" not in r for r in api.get(f"{BASE}/Users").body["Resources"])
        response = api.get(f'{BASE}/Users?filter=title eq "CFO"')
    assert response.status_code == 400, [r["userName"] for r in response.body["Resources"]]
