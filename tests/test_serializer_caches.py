"""What drf_scim builds once per process (serializer fields, querysets, compiled references) and what it must not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from drf_scim.fields import StringAttribute
from drf_scim.serializers import GroupSerializer, UserSerializer
from drf_scim.serializers.base import ComplexAttribute
from drf_scim.serializers.users import NameSerializer
from tests.helpers import BASE, group_body, user_body

pytestmark = pytest.mark.django_db


def header_tenant(request):
    return request.META.get("HTTP_X_TENANT", "")


def serving(**serializers: type) -> override_settings:
    """The test's serializers served through HTTP, with the tenant named by the X-Tenant header."""
    named = {f"{kind}_SERIALIZER": f"{__name__}.{cls.__name__}" for kind, cls in serializers.items()}
    return override_settings(DRF_SCIM={"TENANT_RESOLVER": f"{__name__}.header_tenant", **named})


def post_user(api, tenant: str = "", user_name: str = "bjensen@example.com", **attributes) -> dict:
    response = api.post(f"{BASE}/Users", user_body(user_name, **attributes), HTTP_X_TENANT=tenant)
    assert response.status_code == 201, response.body
    return response.body


def get_user(api, user: dict, tenant: str = "") -> dict:
    response = api.get(f"{BASE}/Users/{user['id']}", HTTP_X_TENANT=tenant)
    assert response.status_code == 200, response.body
    return response.body


class PerTenantGroupSerializer(GroupSerializer):
    """A project hiding members from one tenant in get_fields (DRF's hook for fields that vary)."""

    class Meta(GroupSerializer.Meta):
        pass

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("tenant") == "restricted":
            fields.pop("members")
        return fields


def test_a_serializer_overriding_get_fields_answers_each_request_with_its_own_fields(api):
    with serving(GROUP=PerTenantGroupSerializer):
        for n, tenant in enumerate(("open", "restricted", "open", "restricted")):
            response = api.post(f"{BASE}/Groups", group_body(f"Group {n}"), HTTP_X_TENANT=tenant)
            assert response.status_code == 201, response.body
            listed = api.get(f"{BASE}/Groups", HTTP_X_TENANT=tenant).body["Resources"]
            assert all(("members" in group) == (tenant == "open") for group in listed), (tenant, listed)


class TitledUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        render_empty = ("groups", "title")


def test_render_empty_renders_an_unassigned_attribute_as_null(api):
    with serving(USER=TitledUserSerializer):
        body = get_user(api, post_user(api))
    assert body["title"] is None
    assert body["groups"] == []
    assert "nickName" not in body


def test_one_queryset_serves_every_shape_of_list_with_the_right_groups(api, create_user, create_group):
    """The references subquery is compiled once, then used inside counts, filters, sorts and key pages."""
    users = [
        create_user(f"user{n}@example.com", emails=[{"value": f"u{n}@work.example", "type": "work"}]) for n in range(4)
    ]
    create_group("Even", members=[users[0]["id"], users[2]["id"]])
    create_group("All", members=[user["id"] for user in users])
    expected = {user["id"]: ({"Even", "All"} if n % 2 == 0 else {"All"}) for n, user in enumerate(users)}

    def groups_of(body):
        return {user["id"]: {group["display"] for group in user["groups"]} for user in body["Resources"]}

    for query in (
        "",
        "?startIndex=2&count=2",
        "?filter=emails.value%20co%20%22work%22&count=3",
        "?filter=groups.display%20eq%20%22Even%22",
        "?sortBy=userName&sortOrder=descending&count=3",
        "?attributes=groups,userName&startIndex=3",
    ):
        for _ in range(2):  # built, then from the cache
            body = api.get(f"{BASE}/Users{query}").body
            found = groups_of(body)
            assert found and all(found[user_id] == expected[user_id] for user_id in found), (query, found)


class TenantEchoAttribute(StringAttribute):
    """A field whose rendering reads its serializer's context."""

    def to_representation(self, value):
        return f"{value} ({self.context['tenant'] or 'default'})"


class EchoUserSerializer(UserSerializer):
    nickName = TenantEchoAttribute(required=False)

    class Meta(UserSerializer.Meta):
        pass


def test_a_field_that_reads_its_serializer_renders_each_requests_value(api):
    with serving(USER=EchoUserSerializer):
        users = {tenant: post_user(api, tenant, nickName="Babs", displayName="Barbara") for tenant in ("acme", "")}
        for tenant in ("acme", "", "acme", ""):
            body = get_user(api, users[tenant], tenant)
            assert body["nickName"] == f"Babs ({tenant or 'default'})"
            assert body["displayName"] == "Barbara"


class TenantNameSerializer(NameSerializer):
    """A complex attribute with a sub-attribute that reads the request's context."""

    honorificSuffix = TenantEchoAttribute(required=False)


class EchoNameUserSerializer(UserSerializer):
    name = TenantNameSerializer(required=False, source="*")

    class Meta(UserSerializer.Meta):
        pass


def test_a_nested_attribute_that_reads_its_serializer_renders_each_requests_value(api):
    name = {"givenName": "Barbara", "honorificSuffix": "III"}
    with serving(USER=EchoNameUserSerializer):
        users = {
            tenant: post_user(api, tenant, name=name, emails=[{"value": "b@example.com"}]) for tenant in ("acme", "")
        }
        for tenant in ("acme", "", "acme", ""):
            body = get_user(api, users[tenant], tenant)
            assert body["name"]["honorificSuffix"] == f"III ({tenant or 'default'})"
            assert body["emails"] == [{"value": "b@example.com"}]
    assert get_user(api, users[""])["name"] == name  # the stock serializer, after the echoing one


class PerTenantNameSerializer(NameSerializer):
    """A complex attribute whose sub-attributes depend on the request (get_fields reads the context)."""

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("tenant") == "restricted":
            fields.pop("familyName")
        return fields


class PerTenantNameUserSerializer(UserSerializer):
    name = PerTenantNameSerializer(required=False, source="*")

    class Meta(UserSerializer.Meta):
        pass


def test_a_nested_attribute_whose_fields_vary_per_request_renders_each_requests_fields(api):
    name = {"givenName": "Barbara", "familyName": "Jensen"}
    with serving(USER=PerTenantNameUserSerializer):
        users = {tenant: post_user(api, tenant, name=name) for tenant in ("", "restricted")}
        names = [get_user(api, users[tenant], tenant)["name"] for tenant in ("", "restricted", "")]
    assert names == [name, {"givenName": "Barbara"}, name]


def test_a_list_renders_each_resource_as_a_single_read_does(api):
    user = post_user(api, emails=[{"value": "b@example.com"}])
    for _ in range(2):  # built, then shared
        listed = api.get(f"{BASE}/Users").body["Resources"]
        assert listed == [get_user(api, user)]


def test_rendering_shares_one_copy_of_the_fields_that_read_nothing_from_their_serializer(create_user):
    """The fast path itself, seen from SCIMSerializerMixin.reading_fields: fields and nested attributes that
    read nothing from their serializer are bound once and shared; the others are bound per serializer."""
    created = create_user(nickName="Babs", name={"givenName": "Barbara"}, emails=[{"value": "b@example.com"}])
    user = get_user_model().objects.get(scim__scim_id=created["id"])
    assert EchoUserSerializer(user, context={"tenant": ""}).data  # the first one builds what later ones share
    first, second = (EchoUserSerializer(user, context={"tenant": tenant}) for tenant in ("acme", ""))
    assert first.reading_fields["displayName"] is second.reading_fields["displayName"]
    assert first.reading_fields["emails"] is second.reading_fields["emails"]
    assert first.reading_fields["name"] is second.reading_fields["name"]
    assert first.reading_fields["nickName"] is not second.reading_fields["nickName"]
    assert first.reading_fields["nickName"].parent is first
    assert first.reading_fields["groups"] is not second.reading_fields["groups"]  # its $ref needs the request
    assert first.fields["displayName"] is not second.fields["displayName"]  # writing binds every field
    listed = EchoUserSerializer([user], many=True, context={"tenant": ""})
    assert listed.child.reading_fields["emails"] is first.reading_fields["emails"]
    assert (
        EchoNameUserSerializer(user, context={"tenant": ""}).reading_fields["name"] is not first.reading_fields["name"]
    )


class ContactSerializer(ComplexAttribute):
    """Sub-attributes that live on the resource (``source="*"``): ``email`` is the user model's column."""

    email = StringAttribute(required=False)


class ContactUserSerializer(UserSerializer):
    contact = ContactSerializer(required=False, source="*")

    class Meta(UserSerializer.Meta):
        pass


def test_a_list_and_a_single_resource_read_their_attributes_from_the_same_place(api):
    with serving(USER=ContactUserSerializer):
        user = post_user(api)
        get_user_model().objects.filter(scim__scim_id=user["id"]).update(email="column@example.com")
        single = get_user(api, user)
        listed = api.get(f"{BASE}/Users").body["Resources"][0]
    assert single["contact"] == listed["contact"] == {"email": "column@example.com"}


def test_the_deprecated_names_of_renders_context_free_warn_and_answer_the_same():
    from drf_scim.serializers import base

    field = UserSerializer(context={}).fields["displayName"]
    with pytest.deprecated_call():
        assert base.renders_alone(field) is base.renders_context_free(field) is True
    with pytest.deprecated_call():
        assert base.renders_alone_tree(field) is base.renders_context_free_tree(field) is True
