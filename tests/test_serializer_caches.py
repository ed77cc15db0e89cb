"""What drf_scim builds once per process (serializer fields, querysets, compiled references) and what it must not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from drf_scim.fields import StringAttribute
from drf_scim.serializers import GroupSerializer, UserSerializer
from drf_scim.serializers.base import ComplexAttribute
from drf_scim.serializers.users import NameSerializer
from tests.helpers import BASE

pytestmark = pytest.mark.django_db


class PerTenantGroupSerializer(GroupSerializer):
    """A project hiding members from one tenant in get_fields (DRF's hook for fields that vary)."""

    class Meta(GroupSerializer.Meta):
        pass

    def get_fields(self):
        fields = super().get_fields()
        if self.context.get("tenant") == "restricted":
            fields.pop("members")
        return fields


def test_a_serializer_overriding_get_fields_builds_them_for_each_instance():
    assert "members" in PerTenantGroupSerializer(context={"tenant": "open"}).fields
    assert "members" not in PerTenantGroupSerializer(context={"tenant": "restricted"}).fields
    assert "members" in PerTenantGroupSerializer(context={"tenant": "open"}).fields


class TitledUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        render_empty = ("groups", "title")


def test_render_empty_renders_an_unassigned_attribute_as_null(create_user):
    user = get_user_model().objects.get(scim__scim_id=create_user()["id"])
    data = TitledUserSerializer(user, context={"tenant": ""}).data
    assert data["title"] is None
    assert data["groups"] == []
    assert "nickName" not in data


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


def test_fields_that_read_their_serializer_get_their_own_copy_and_the_rest_are_shared(create_user):
    user = get_user_model().objects.get(scim__scim_id=create_user(nickName="Babs", displayName="Barbara")["id"])
    assert EchoUserSerializer(user, context={"tenant": ""}).data  # the first one builds the fields later ones share
    first, second = (
        EchoUserSerializer(user, context={"tenant": "acme"}),
        EchoUserSerializer(user, context={"tenant": ""}),
    )
    assert (first.data["nickName"], second.data["nickName"]) == ("Babs (acme)", "Babs (default)")
    assert first.data["displayName"] == second.data["displayName"] == "Barbara"
    assert first.reading_fields["displayName"] is second.reading_fields["displayName"]
    assert first.reading_fields["nickName"] is not second.reading_fields["nickName"]
    assert first.reading_fields["nickName"].parent is first
    assert first.fields["displayName"] is not second.fields["displayName"]  # writing binds every field


class TenantNameSerializer(NameSerializer):
    """A complex attribute with a sub-attribute that reads the request's context."""

    honorificSuffix = TenantEchoAttribute(required=False)


class EchoNameUserSerializer(UserSerializer):
    name = TenantNameSerializer(required=False, source="*")

    class Meta(UserSerializer.Meta):
        pass


def test_nested_attributes_that_need_no_request_render_through_one_shared_copy(create_user):
    created = create_user(name={"givenName": "Barbara", "honorificSuffix": "III"}, emails=[{"value": "b@example.com"}])
    user = get_user_model().objects.get(scim__scim_id=created["id"])
    for serializer_class in (UserSerializer, EchoNameUserSerializer):
        assert serializer_class(user, context={"tenant": ""}).data  # the first one builds what later ones share
    first, second = (UserSerializer(user, context={"tenant": ""}) for _ in range(2))
    assert first.data == second.data
    assert first.data["emails"] == [{"value": "b@example.com"}]
    assert first.reading_fields["emails"] is second.reading_fields["emails"]
    assert first.reading_fields["name"] is second.reading_fields["name"]
    assert first.reading_fields["groups"] is not second.reading_fields["groups"]  # its $ref needs the request
    acme, default = (EchoNameUserSerializer(user, context={"tenant": tenant}) for tenant in ("acme", ""))
    assert (acme.data["name"]["honorificSuffix"], default.data["name"]["honorificSuffix"]) == (
        "III (acme)",
        "III (default)",
    )
    assert acme.reading_fields["name"] is not default.reading_fields["name"]
    assert acme.reading_fields["emails"] is default.reading_fields["emails"]


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


def test_a_nested_attribute_whose_fields_vary_per_request_is_never_shared(create_user):
    created = create_user(name={"givenName": "Barbara", "familyName": "Jensen"})
    user = get_user_model().objects.get(scim__scim_id=created["id"])
    names = [PerTenantNameUserSerializer(user, context={"tenant": t}).data["name"] for t in ("", "restricted", "")]
    assert names == [
        {"givenName": "Barbara", "familyName": "Jensen"},
        {"givenName": "Barbara"},
        {"givenName": "Barbara", "familyName": "Jensen"},
    ]


def test_a_list_renders_its_resources_with_the_shared_copies_of_a_single_resource(create_user):
    user = get_user_model().objects.get(scim__scim_id=create_user(emails=[{"value": "b@example.com"}])["id"])
    for _ in range(2):  # built, then shared
        single = UserSerializer(user, context={"tenant": ""})
        listed = UserSerializer([user], many=True, context={"tenant": ""})
        assert listed.data[0] == single.data
    assert listed.child.reading_fields["emails"] is single.reading_fields["emails"]
    assert listed.child.reading_fields["name"] is single.reading_fields["name"]


class ContactSerializer(ComplexAttribute):
    """Sub-attributes that live on the resource (``source="*"``): ``email`` is the user model's column."""

    email = StringAttribute(required=False)


class ContactUserSerializer(UserSerializer):
    contact = ContactSerializer(required=False, source="*")

    class Meta(UserSerializer.Meta):
        pass


def test_a_list_and_a_single_resource_read_their_attributes_from_the_same_place(create_user):
    user = get_user_model().objects.get(scim__scim_id=create_user()["id"])
    user.email = "column@example.com"
    single = ContactUserSerializer(user, context={"tenant": ""}).data
    listed = ContactUserSerializer([user], many=True, context={"tenant": ""}).data[0]
    assert single["contact"] == listed["contact"] == {"email": "column@example.com"}


def test_the_deprecated_names_of_renders_context_free_warn_and_answer_the_same():
    from drf_scim.serializers import base

    field = UserSerializer(context={}).fields["displayName"]
    with pytest.deprecated_call():
        assert base.renders_alone(field) is base.renders_context_free(field) is True
    with pytest.deprecated_call():
        assert base.renders_alone_tree(field) is base.renders_context_free_tree(field) is True
