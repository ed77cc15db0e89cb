"""The forms of the connections page: a new connection, a change to one, and the tokens it issues."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django import forms
from django.db import transaction
from oauth2_provider.models import get_application_model

from .. import connections
from ..connections import ConnectionRefused
from ..models import SCIMClient

TENANT_HELP = "The tenant this connection provisions; empty for the default tenant."


@contextmanager
def refusals_as_errors() -> Iterator[None]:
    """What drf_scim.connections refuses, as the form field's validation error."""
    try:
        yield
    except ConnectionRefused as refused:
        raise forms.ValidationError(str(refused)) from None


def scope_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {description}") for name, description in connections.available_scopes().items()]


def expires_days_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        initial=connections.DEFAULT_EXPIRES_DAYS,
        help_text="The identity provider stops provisioning when its token expires: rotate it before.",
    )


class TokenForm(forms.Form):
    """The scopes and lifetime of a token to issue."""

    scopes = forms.MultipleChoiceField(
        choices=scope_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="A token needs READ_SCOPE and WRITE_SCOPE (or resource type scopes) to provision.",
    )
    expires_days = expires_days_field()

    def clean_scopes(self) -> list[str]:
        scopes = self.cleaned_data["scopes"]
        with refusals_as_errors():
            connections.check_scopes(scopes)
        return scopes


class RotateForm(forms.Form):
    """The lifetime of the token that replaces a connection's tokens."""

    expires_days = expires_days_field()


class TenantForm(forms.ModelForm):
    """A connection's tenant, checked as ``scim_token --tenant`` checks it."""

    def clean_tenant(self) -> str:
        with refusals_as_errors():
            return connections.clean_tenant(self.cleaned_data.get("tenant") or "")


class ConnectionCreationForm(TokenForm, TenantForm):
    """A new connection: its name, its tenant (when tenants are used) and its first token."""

    name = forms.CharField(max_length=255, help_text="The identity provider, e.g. 'Microsoft Entra ID' or 'Okta'.")

    class Meta:
        model = SCIMClient
        fields = ["name", "tenant", "scopes", "expires_days"]
        help_texts = {"tenant": TENANT_HELP}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].initial = connections.default_scopes()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        with refusals_as_errors():
            application = connections.application_named(name)
        if application is not None and SCIMClient.objects.filter(client_id=application.client_id).exists():
            raise forms.ValidationError(f"There is a connection named {name!r}: issue a new token on its page.")
        return name

    def create(self) -> tuple[SCIMClient, connections.IssuedToken]:
        data = self.cleaned_data
        with transaction.atomic():
            connection = connections.connect(data["name"], tenant=data.get("tenant", ""))
            issued = connections.issue_token(connection.application, data["scopes"], expires_days=data["expires_days"])
        return SCIMClient.objects.get(client_id=connection.application.client_id), issued


class ConnectionChangeForm(TenantForm):
    """Rename a connection, or move it to another tenant (which its tokens then provision)."""

    name = forms.CharField(max_length=255)
    move_tenant = forms.BooleanField(
        required=False,
        label="Move to this tenant",
        help_text="Its tokens then see the new tenant's users and groups, and no longer those of the old one.",
    )

    class Meta:
        model = SCIMClient
        fields = ["name", "tenant", "move_tenant"]
        help_texts = {"tenant": TENANT_HELP}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.application = get_application_model().objects.filter(client_id=self.instance.client_id).first()
        self.fields["name"].initial = getattr(self.application, "name", "")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = get_application_model().objects.filter(name=name)
        if self.application is not None:
            others = others.exclude(pk=self.application.pk)
        if others.exists():
            raise forms.ValidationError(f"Another OAuth2 application is named {name!r}.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "tenant" in self.fields and "tenant" in self.changed_data and not data.get("move_tenant"):
            self.add_error(
                "move_tenant",
                f"This connection provisions {connections.tenant_label(self.initial.get('tenant') or '')}: "
                "check this box to move it, with its tokens, to the tenant above.",
            )
        return data

    def save(self, commit: bool = True) -> SCIMClient:
        if self.application is not None and self.application.name != self.cleaned_data["name"]:
            self.application.name = self.cleaned_data["name"]
            self.application.save(update_fields=["name"])
        return super().save(commit)
