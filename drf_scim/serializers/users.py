"""The User resource type (RFC 7643 §4.1) on ``AUTH_USER_MODEL``.

userName, name.givenName, name.familyName and active live in the user model's
own columns; password is hashed into its password column; every other
attribute is kept verbatim in the companion ``SCIMUser`` row's JSON document.
A project maps attributes to its own columns by subclassing and redeclaring
fields with ``source=``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from ..constants import USER_SCHEMA
from ..fields import (
    BinaryAttribute,
    BooleanAttribute,
    PasswordAttribute,
    ReferenceAttribute,
    StringAttribute,
    TenantUniqueStringAttribute,
)
from ..filters.translate import ExpressionTarget, Target
from ..schema.attributes import attribute_of
from .attributes import ComplexAttribute
from .base import SCIMSerializer
from .enterprise import EnterpriseUserExtension
from .relations import GroupsAttribute
from .sources import deep_set


class ActiveAttribute(BooleanAttribute):
    """``active``: the value lives in the user model's ``is_active``; whether a client assigned it at all
    is kept in the JSON document, so that a removed ``active`` reads back unassigned. Removing it never
    changes ``is_active`` (a new user starts active; a deactivated one stays deactivated), and once
    assigned, the value read is ``is_active``'s, so a user deactivated in Django reads ``false``.
    """

    column = "is_active"

    def __init__(self, **kwargs: Any) -> None:
        kwargs["source"] = "*"
        super().__init__(**kwargs)

    def document(self) -> list[str]:
        return [*self.parent.get_document_path().split("."), self.field_name]

    def to_representation(self, instance: Any) -> bool | None:
        node: Any = instance
        for part in self.document():
            node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        return None if node is None else bool(getattr(instance, self.column))

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if data is None:
            return self.cleared_value()
        value = super().to_internal_value(data)
        stored: dict[str, Any] = {self.column: value}
        deep_set(stored, self.document(), value)
        return stored

    def cleared_value(self) -> dict[str, Any]:
        # Unassigned, but a deactivated user stays deactivated (a PUT without active must not reactivate).
        stored: dict[str, Any] = {}
        deep_set(stored, self.document(), None)
        return stored

    def get_filter_target(self, attribute_map: Any) -> Target:
        return ExpressionTarget(attribute_of(self.field_name, self), self.column, nullable=False)


class NameSerializer(ComplexAttribute):
    """The components of the user's real name."""

    formatted = StringAttribute(required=False, help_text="The full name, formatted for display.")
    familyName = StringAttribute(source="last_name", required=False, max_length=150, help_text="The family name.")
    givenName = StringAttribute(source="first_name", required=False, max_length=150, help_text="The given name.")
    middleName = StringAttribute(required=False, help_text="The middle name(s).")
    honorificPrefix = StringAttribute(required=False, help_text="Title prefix, e.g. 'Ms.'.")
    honorificSuffix = StringAttribute(required=False, help_text="Title suffix, e.g. 'III'.")


class MultiValueSerializer(ComplexAttribute):
    """The sub-attributes shared by the multi-valued attributes of a User."""

    value = StringAttribute(required=False, help_text="The value.")
    display = StringAttribute(required=False, help_text="A human-readable name.")
    type = StringAttribute(required=False, help_text="A label for the value's function.")
    primary = BooleanAttribute(required=False, help_text="Whether this is the preferred value.")


class EmailSerializer(MultiValueSerializer):
    type = StringAttribute(required=False, canonical_values=("work", "home", "other"), help_text="work, home or other.")


class PhoneNumberSerializer(MultiValueSerializer):
    type = StringAttribute(
        required=False,
        canonical_values=("work", "home", "mobile", "fax", "pager", "other"),
        help_text="work, home, mobile, fax, pager or other.",
    )


class IMSerializer(MultiValueSerializer):
    type = StringAttribute(
        required=False,
        canonical_values=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        help_text="The instant messaging service.",
    )


class PhotoSerializer(MultiValueSerializer):
    value = ReferenceAttribute(required=False, help_text="URL of the image.")
    type = StringAttribute(required=False, canonical_values=("photo", "thumbnail"), help_text="photo or thumbnail.")


class AddressSerializer(ComplexAttribute):
    formatted = StringAttribute(required=False, help_text="The full mailing address, formatted for display.")
    streetAddress = StringAttribute(required=False, help_text="The street address.")
    locality = StringAttribute(required=False, help_text="City or locality.")
    region = StringAttribute(required=False, help_text="State or region.")
    postalCode = StringAttribute(required=False, help_text="Zip or postal code.")
    country = StringAttribute(required=False, help_text="Country, as an ISO 3166-1 alpha-2 code.")
    type = StringAttribute(required=False, canonical_values=("work", "home", "other"), help_text="work, home or other.")
    primary = BooleanAttribute(required=False, help_text="Whether this is the preferred address.")


class X509CertificateSerializer(MultiValueSerializer):
    value = BinaryAttribute(required=False, help_text="A DER-encoded X.509 certificate, base64-encoded.")


class UserSerializer(SCIMSerializer):
    """A SCIM User with the Enterprise User extension."""

    userName = TenantUniqueStringAttribute(
        source="username",
        max_length=150,
        required=True,
        allow_blank=False,
        uniqueness="server",
        help_text="Unique identifier of the user, used to sign in.",
    )
    name = NameSerializer(source="*", required=False, help_text="The components of the user's real name.")
    displayName = StringAttribute(required=False, help_text="The name of the user, suitable for display.")
    nickName = StringAttribute(required=False, help_text="The casual way to address the user.")
    profileUrl = ReferenceAttribute(required=False, help_text="A URI of the user's online profile.")
    title = StringAttribute(required=False, help_text="The user's title, such as 'Vice President'.")
    userType = StringAttribute(required=False, help_text="The relationship to the organization, e.g. 'Employee'.")
    preferredLanguage = StringAttribute(required=False, help_text="Preferred language, e.g. 'en-US'.")
    locale = StringAttribute(required=False, help_text="Default location, e.g. 'en-US'.")
    timezone = StringAttribute(required=False, help_text="Time zone in the Olson database format.")
    active = ActiveAttribute(required=False, help_text="The user's administrative status.")
    password = PasswordAttribute(help_text="The user's clear text password; write-only.")
    emails = EmailSerializer(many=True, required=False, help_text="Email addresses.")
    phoneNumbers = PhoneNumberSerializer(many=True, required=False, help_text="Phone numbers.")
    ims = IMSerializer(many=True, required=False, help_text="Instant messaging addresses.")
    photos = PhotoSerializer(many=True, required=False, help_text="URLs of photos of the user.")
    addresses = AddressSerializer(many=True, required=False, help_text="Physical mailing addresses.")
    groups = GroupsAttribute(help_text="The groups the user belongs to.")
    entitlements = MultiValueSerializer(many=True, required=False, help_text="Entitlements of the user.")
    roles = MultiValueSerializer(many=True, required=False, help_text="Roles of the user.")
    x509Certificates = X509CertificateSerializer(many=True, required=False, help_text="Certificates of the user.")

    class Meta:
        model = get_user_model()
        schema = USER_SCHEMA
        resource_type = "User"
        description = "User Account"
        scim_relation = "scim"
        extensions = [EnterpriseUserExtension]
        render_empty = ("groups",)
        folded_keys = {"userName": "user_name_key"}

    def save_resource(self, instance: Any, *, created: bool, relations: list) -> None:
        resource = self.get_resource(instance)
        if created and not instance.password:
            instance.set_unusable_password()
        self.mirror_email(instance, resource)
        super().save_resource(instance, created=created, relations=relations)

    def email_column(self, instance: Any) -> Any:
        """The user model's ``email`` field when it mirrors the primary email (no attribute maps it)."""
        field = next((f for f in instance._meta.concrete_fields if f.name == "email"), None)
        if field is None or "email" in {f.source for f in self.fields.values()}:
            return None
        return field

    def mirror_email(self, instance: Any, resource: Any) -> None:
        """Copy the primary (else first) email into the user model's ``email`` column, when it has one."""
        field = self.email_column(instance)
        if field is None:
            return
        primary = primary_email(resource.data.get("emails"))
        value = primary["value"] if primary else ""
        instance.email = value if len(value) <= (field.max_length or 254) else ""

    def get_adopted_document(self, instance: Any) -> dict[str, Any]:
        """``active`` assigned, so that it reads ``is_active``; the email column as the primary work email."""
        document: dict[str, Any] = {"active": True}
        return self.refresh_document(instance, document)

    def refresh_document(self, instance: Any, document: dict[str, Any]) -> dict[str, Any]:
        """The primary email follows a change of the email column made outside SCIM."""
        column = self.email_column(instance)
        if column is None:
            return document
        value = getattr(instance, column.attname) or ""
        emails = [item for item in document.get("emails") or [] if isinstance(item, dict)]
        primary = primary_email(emails)
        current = primary["value"] if primary else ""
        if value == (current if len(current) <= (column.max_length or 254) else ""):
            return document  # the column holds what mirror_email wrote (nothing, for an email too long)
        if primary is None:
            emails.append({"value": value, "type": "work", "primary": True})
        elif value:  # changed in its place
            emails = [({**item, "value": value} if item is primary else item) for item in emails]
        else:  # removed with the column's value
            emails = [item for item in emails if item is not primary]
        document = {key: item for key, item in document.items() if key != "emails"}
        if emails:
            document["emails"] = emails
        return document


def primary_email(emails: Any) -> dict[str, Any] | None:
    """The primary (else first) of a list of emails that has a value."""
    emails = [item for item in emails or [] if isinstance(item, dict) and item.get("value")]
    return next((item for item in emails if item.get("primary") is True), emails[0] if emails else None)
