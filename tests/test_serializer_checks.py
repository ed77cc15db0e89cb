"""System checks of SCIM serializers (drf_scim.checks): Meta options, schema URNs and sources, at startup."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.checks import run_checks
from django.test import override_settings
from django.urls import include, path

from drf_scim.checks import serializer_errors
from drf_scim.constants import USER_SCHEMA
from drf_scim.fields import StringAttribute
from drf_scim.routers import SCIMRouter
from drf_scim.serializers import ComplexAttribute, SCIMExtension, SCIMSerializer, UserSerializer
from drf_scim.viewsets import SCIMModelViewSet
from tests.testapp.models import Device
from tests.testapp.serializers import AcmeUserSerializer, BadgeUserSerializer

LABEL = "tests.test_serializer_checks"
GADGET_SCHEMA = "urn:example:params:scim:schemas:core:1.0:Gadget"


def messages(serializer_class: type) -> list[tuple[str, str, str, str]]:
    return [(error.id, error.obj, error.msg, error.hint) for error in serializer_errors(serializer_class)]


# -- drf_scim.E007: Meta options nothing reads ---------------------------------------------------------------


class MisspeltUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        folded_key = {"userName": "user_name_key"}


class ModelStyleSerializer(SCIMSerializer):
    serialNumber = StringAttribute(source="serial_number")

    class Meta:
        model = Device
        schema = GADGET_SCHEMA
        resource_type = "Gadget"
        fields = "__all__"


class ResourceOptionOnAnExtension(SCIMExtension):
    colour = StringAttribute(required=False)

    class Meta:
        schema = "urn:example:params:scim:schemas:extension:1.0:Gadget"
        resource_type = "Gadget"


class LabelSerializer(ComplexAttribute):
    text = StringAttribute(required=False)

    class Meta:
        storage_key = "labels"


class GadgetWithBadNestedMetas(SCIMSerializer):
    label = LabelSerializer(required=False)
    labels = LabelSerializer(many=True, required=False)

    class Meta:
        model = Device
        schema = GADGET_SCHEMA
        resource_type = "Gadget"
        extensions = [ResourceOptionOnAnExtension]


def test_a_misspelt_option_names_the_one_meant():
    resource_options = (
        "description, extensions, folded_keys, list_serializer_class, model, ref_name, renamed_fields, "
        "render_empty, resource_type, schema, schema_name, scim_relation, validators"
    )
    assert messages(MisspeltUserSerializer) == [
        (
            "drf_scim.E007",
            f"{LABEL}.MisspeltUserSerializer",
            "MisspeltUserSerializer.Meta.folded_key is not an option of a SCIMSerializer; nothing reads it.",
            f"Did you mean Meta.folded_keys? The Meta options of a SCIMSerializer are: {resource_options}.",
        )
    ]


def test_a_model_serializer_option_says_to_declare_fields():
    assert messages(ModelStyleSerializer) == [
        (
            "drf_scim.E007",
            f"{LABEL}.ModelStyleSerializer",
            "ModelStyleSerializer.Meta.fields is not an option of a SCIMSerializer; nothing reads it.",
            "A SCIM serializer is a DRF Serializer, not a ModelSerializer: Meta.fields is not read. "
            "Declare each attribute as a field of the class, with source= naming its model field.",
        )
    ]


def test_options_of_extensions_and_complex_attributes_are_checked_once_per_class():
    errors = serializer_errors(GadgetWithBadNestedMetas)
    assert [(error.id, error.msg) for error in errors] == [
        (
            "drf_scim.E007",
            "LabelSerializer.Meta.storage_key is not an option of a ComplexAttribute; nothing reads it.",
        ),
        (
            "drf_scim.E007",
            "ResourceOptionOnAnExtension.Meta.resource_type is not an option of a SCIMExtension; nothing reads it.",
        ),
    ]
    assert errors[0].hint == (
        "The Meta options of a ComplexAttribute are: list_serializer_class, ref_name, renamed_fields, render_empty, "
        "validators."
    )


# -- drf_scim.E008: option values ----------------------------------------------------------------------------


class NotAnExtension(ComplexAttribute):
    pass


class IncompleteSerializer(SCIMSerializer):
    name = StringAttribute(required=False)

    class Meta:
        schema = GADGET_SCHEMA
        extensions = [NotAnExtension]
        folded_keys = {"serialNumber": "serial_key"}
        render_empty = ("labels",)


class WrongRelationSerializer(SCIMSerializer):
    displayName = StringAttribute(source="name")

    class Meta:
        model = Group
        schema = GADGET_SCHEMA
        resource_type = "Team"
        scim_relation = "user_set"


class NoRelationSerializer(SCIMSerializer):
    displayName = StringAttribute(source="name")

    class Meta:
        model = Group
        schema = GADGET_SCHEMA
        resource_type = "Team"


def test_missing_and_unknown_option_values_are_reported():
    declared = "externalId, id, meta, name"
    assert [(error.id, error.msg, error.hint) for error in serializer_errors(IncompleteSerializer)] == [
        (
            "drf_scim.E008",
            "IncompleteSerializer.Meta.model must be a Django model class.",
            "Set Meta.model to the model that holds the resources.",
        ),
        (
            "drf_scim.E008",
            "IncompleteSerializer.Meta.resource_type must name the resource type.",
            'Set Meta.resource_type to its name, as /ResourceTypes shows it, for example "Device".',
        ),
        (
            "drf_scim.E008",
            f"IncompleteSerializer.Meta.extensions holds {NotAnExtension!r}, which is not a SCIMExtension.",
            "List SCIMExtension subclasses, or (extension, required) pairs.",
        ),
        (
            "drf_scim.E008",
            "IncompleteSerializer.Meta.folded_keys names 'serialNumber', which is not an attribute of "
            "IncompleteSerializer.",
            f"Name declared attributes in Meta.folded_keys: {declared}.",
        ),
        (
            "drf_scim.E008",
            "IncompleteSerializer.Meta.render_empty names 'labels', which is not an attribute of IncompleteSerializer.",
            f"Name declared attributes in Meta.render_empty: {declared}.",
        ),
    ]


def test_scim_relation_must_reach_a_scim_resource():
    assert [(error.id, error.msg) for error in serializer_errors(WrongRelationSerializer)] == [
        (
            "drf_scim.E008",
            "WrongRelationSerializer.Meta.scim_relation 'user_set' is not a one-to-one relation from Group to a "
            "SCIMResource.",
        )
    ]
    assert [(error.id, error.msg) for error in serializer_errors(NoRelationSerializer)] == [
        ("drf_scim.E008", "NoRelationSerializer.Meta.scim_relation is not set and Group is not a SCIMResource.")
    ]


def test_a_serializer_that_is_not_a_scim_serializer():
    from rest_framework import serializers

    class PlainSerializer(serializers.Serializer):
        pass

    assert [(error.id, error.msg) for error in serializer_errors(PlainSerializer)] == [
        (
            "drf_scim.E008",
            f"{LABEL}.test_a_serializer_that_is_not_a_scim_serializer.<locals>.PlainSerializer serves a SCIM "
            "resource type but is not a SCIMSerializer.",
        )
    ]


# -- drf_scim.E009: schema URNs ------------------------------------------------------------------------------


def gadget_serializer(urn: object) -> type:
    meta = type("Meta", (), {"model": Device, "schema": urn, "resource_type": "Gadget"})
    return type("GadgetSerializer", (SCIMSerializer,), {"Meta": meta, "__module__": LABEL})


NOT_A_URN = (
    "is not a URN a filter can name: urn:<namespace>:<name>, the namespace of 2 to 32 letters, digits and hyphens, "
    "the name of letters, digits and . _ % + = ~ - in segments separated by single colons."
)
URN_HINT = (
    "Write a schema URN (RFC 7643 §3, §10): urn:ietf:params:scim:schemas:core:2.0:<Name> for a schema of the RFC, "
    "or one in your own namespace, such as urn:example:params:scim:schemas:extension:1.0:<Name>."
)


@pytest.mark.parametrize(
    ("urn", "problem"),
    [
        ("", "is not set: every schema is named by a URN."),
        (None, "is not set: every schema is named by a URN."),
        ("Gadget", NOT_A_URN),
        ("example:params:scim:schemas:core:1.0:Gadget", NOT_A_URN),
        ("urn:example", NOT_A_URN),
        ("urn:x:Gadget", NOT_A_URN),  # a namespace of one character
        ("urn:-example:Gadget", NOT_A_URN),
        ("urn:example:schemas:Gadget:", NOT_A_URN),
        ("urn:example:schemas::Gadget", NOT_A_URN),
        ("urn:example:my gadget", NOT_A_URN),
        ("urn:example:gadget/1.0", NOT_A_URN),
        (
            "urn:ietf:params:scim:api:messages:2.0:Gadget",
            "is in the IETF's namespace but not a SCIM schema URN (urn:ietf:params:scim:schemas:...).",
        ),
        (
            "urn:ietf:params:oauth:Gadget",
            "is in the IETF's namespace but not a SCIM schema URN (urn:ietf:params:scim:schemas:...).",
        ),
    ],
)
def test_a_malformed_schema_urn(urn, problem):
    assert messages(gadget_serializer(urn)) == [
        ("drf_scim.E009", f"{LABEL}.GadgetSerializer", f"GadgetSerializer.Meta.schema {urn!r} {problem}", URN_HINT)
    ]


@pytest.mark.parametrize(
    "urn",
    [
        USER_SCHEMA,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "URN:Example:params:scim:schemas:core:1.0:Gadget",
        "urn:acme-corp:scim:gadget",
        "urn:example:params:scim:schemas:extension:gadget:1.0_beta~2:Gadget",
    ],
)
def test_a_well_formed_schema_urn(urn):
    assert messages(gadget_serializer(urn)) == []


class SameURNExtension(SCIMExtension):
    class Meta:
        schema = GADGET_SCHEMA.upper()


class MalformedExtension(SCIMExtension):
    class Meta:
        schema = "gadget-extension"


class ExtendedGadgetSerializer(SCIMSerializer):
    class Meta:
        model = Device
        schema = GADGET_SCHEMA
        resource_type = "Gadget"
        extensions = [SameURNExtension, (MalformedExtension, True)]


def test_extension_urns_are_checked_and_distinct_from_the_core_one():
    assert messages(ExtendedGadgetSerializer) == [
        (
            "drf_scim.E009",
            f"{LABEL}.SameURNExtension",
            f"SameURNExtension.Meta.schema {GADGET_SCHEMA.upper()!r} is also the schema of ExtendedGadgetSerializer.",
            "Give each schema of ExtendedGadgetSerializer its own URN.",
        ),
        (
            "drf_scim.E009",
            f"{LABEL}.MalformedExtension",
            f"MalformedExtension.Meta.schema 'gadget-extension' {NOT_A_URN}",
            URN_HINT,
        ),
    ]


# -- drf_scim.E010, drf_scim.E011: sources -------------------------------------------------------------------


class GadgetNameSerializer(ComplexAttribute):
    formatted = StringAttribute(source="name", required=False)


class ConflictingSourcesSerializer(SCIMSerializer):
    serialNumber = StringAttribute(source="serial_number")
    displayName = StringAttribute(source="name", required=False)
    name = GadgetNameSerializer(source="*", required=False)
    label = StringAttribute(source="name", read_only=True)  # reading one source twice is harmless

    class Meta:
        model = Device
        schema = GADGET_SCHEMA
        resource_type = "Gadget"


def test_two_writable_attributes_with_one_source():
    assert messages(ConflictingSourcesSerializer) == [
        (
            "drf_scim.E010",
            f"{LABEL}.ConflictingSourcesSerializer",
            "ConflictingSourcesSerializer: the attributes 'displayName' and 'name.formatted' both write source "
            "'name'; whichever is written last wins.",
            "Give one of them another source=, or make it read_only=True.",
        )
    ]


class MisspeltSourceSerializer(SCIMSerializer):
    serialNumber = StringAttribute(source="serial_numbr")
    owner = StringAttribute(source="scim.ownr", read_only=True)
    department = StringAttribute(source="scim.data.enterprise.department", required=False)  # inside the JSON
    userName = StringAttribute(source="get_username", read_only=True)  # a method

    class Meta:
        model = get_user_model()
        schema = GADGET_SCHEMA
        resource_type = "Gadget"
        scim_relation = "scim"


def test_a_source_the_model_does_not_have():
    hint = (
        "Name a field or property of {} in source=, or leave source= out to keep the attribute in the resource's "
        "JSON document."
    )
    user = get_user_model().__name__
    assert messages(MisspeltSourceSerializer) == [
        (
            "drf_scim.E011",
            f"{LABEL}.MisspeltSourceSerializer",
            f"MisspeltSourceSerializer: the source 'serial_numbr' of the attribute 'serialNumber' names "
            f"'serial_numbr': {user} has no field or attribute of that name.",
            hint.format(user),
        ),
        (
            "drf_scim.E011",
            f"{LABEL}.MisspeltSourceSerializer",
            "MisspeltSourceSerializer: the source 'scim.ownr' of the attribute 'owner' names 'ownr': SCIMUser has "
            "no field or attribute of that name.",
            hint.format("SCIMUser"),
        ),
    ]


# -- which serializers are checked ---------------------------------------------------------------------------


class GadgetViewSet(SCIMModelViewSet):
    serializer_class = ModelStyleSerializer


gadgets = SCIMRouter(include_defaults=False)
gadgets.register("Gadgets", GadgetViewSet)
urlpatterns = [path("scim/gadgets/", include(gadgets.urls))]  # ROOT_URLCONF of test_routed_serializers_are_checked


def drf_scim_errors() -> list[str]:
    return [error.id for error in run_checks() if error.id.startswith("drf_scim")]


def test_the_configured_serializers_are_checked():
    with override_settings(DRF_SCIM={"USER_SERIALIZER": f"{LABEL}.MisspeltUserSerializer"}):
        assert drf_scim_errors() == ["drf_scim.E007"]


def test_routed_serializers_are_checked():
    with override_settings(ROOT_URLCONF=LABEL):
        assert drf_scim_errors() == ["drf_scim.E007"]


def test_the_sample_site_has_no_errors():
    with override_settings(ROOT_URLCONF="sample_site.urls"):
        assert drf_scim_errors() == []


def test_the_test_app_has_no_errors():
    assert drf_scim_errors() == []  # tests.urls: the sample site and the test app's viewsets
    for serializer_class in (BadgeUserSerializer, AcmeUserSerializer):
        assert serializer_errors(serializer_class) == []
