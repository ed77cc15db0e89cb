"""The connections page: each identity provider's OAuth2 application, its tokens and its activity."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_variables
from oauth2_provider.models import get_access_token_model, get_application_model

from .. import activity, connections
from ..models import SCIMActivity, SCIMClient
from ..reverse import ROOT_URL_NAME
from ..settings import scim_settings
from .forms import ConnectionChangeForm, ConnectionCreationForm, RotateForm, TokenForm

ACTION_FORMS = "drf_scim_action_forms"


def new_action_form(request: Any) -> str:
    """A value that lets one token form be sent once: a reload of its POST finds it spent, and issues (or
    rotates away) no second token."""
    value = secrets.token_urlsafe(16)
    request.session[ACTION_FORMS] = [*request.session.get(ACTION_FORMS, [])[-19:], value]
    return value


def spend_action_form(request: Any, value: str) -> None:
    request.session[ACTION_FORMS] = [sent for sent in request.session.get(ACTION_FORMS, []) if sent != value]


def local(value: datetime) -> datetime:
    """``value`` in the current time zone (as it is when ``USE_TZ`` is False)."""
    return timezone.localtime(value) if timezone.is_aware(value) else value


def connection_name(obj: SCIMClient) -> str:
    """The name of a connection's application (annotated by ``with_tokens``, or looked up)."""
    name = getattr(obj, "name", None)
    if name is None:
        name = get_application_model().objects.filter(client_id=obj.client_id).values_list("name", flat=True).first()
    return name or obj.client_id


def scim_base_url(request: Any) -> str:
    """The SCIM base URL an identity provider's console asks for (Entra: "Tenant URL")."""
    if scim_settings.BASE_URL:
        return scim_settings.BASE_URL.rstrip("/")
    try:
        return request.build_absolute_uri(reverse(ROOT_URL_NAME)).rstrip("/")
    except NoReverseMatch:
        return ""


@admin.register(SCIMClient)
class ConnectionAdmin(admin.ModelAdmin):
    """Provisioning connections: one per identity provider (and tenant)."""

    form = ConnectionChangeForm
    add_form = ConnectionCreationForm
    list_display = (
        "connection",
        "tenant_name",
        "token_scopes",
        "token_expires",
        "last_request",
        "requests_today",
        "requests_7_days",
        "errors_7_days",
    )
    search_fields = ("client_id", "tenant", "name")
    readonly_fields = ("client_id", "created", "tokens", "recent_activity")
    change_form_template = "admin/drf_scim/scimclient/change_form.html"

    def get_queryset(self, request: Any) -> Any:
        return activity.with_activity(connections.with_tokens(super().get_queryset(request)))

    def get_list_display(self, request: Any) -> tuple[str, ...]:
        shown = super().get_list_display(request)
        return shown if connections.tenants_are_used() else tuple(name for name in shown if name != "tenant_name")

    def get_form(self, request: Any, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: Any, obj: Any = None) -> list[str]:
        tenant = ["tenant"] if connections.tenants_are_used() else []
        if obj is None:
            return ["name", *tenant, "scopes", "expires_days"]
        return ["name", *tenant, *(["move_tenant"] if tenant else []), *self.readonly_fields]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    # -- the list ------------------------------------------------------------------------------------------

    def usage(self, obj: Any) -> activity.Usage:
        cached = getattr(obj, "_usage", None)
        if cached is None:
            cached = obj._usage = activity.usage(obj)
        return cached

    @admin.display(description="connection", ordering="name")
    def connection(self, obj: Any) -> str:
        return obj.name or f"(no OAuth2 application with client_id {obj.client_id})"

    @admin.display(description="tenant", ordering="tenant")
    def tenant_name(self, obj: Any) -> str:
        return obj.tenant or "(default)"

    @admin.display(description="scopes")
    def token_scopes(self, obj: Any) -> str:
        return obj.scopes or "-"

    @admin.display(description="token expires", ordering="expires")
    def token_expires(self, obj: Any) -> Any:
        if obj.expires is None:
            return format_html("<strong>{}</strong>", "no live token")
        suffix = f" (+{obj.live_tokens - 1} other)" if obj.live_tokens > 1 else ""
        return f"{local(obj.expires):%Y-%m-%d %H:%M}{suffix}"

    @admin.display(description="last request")
    def last_request(self, obj: Any) -> str:
        last = self.usage(obj).last_request
        return f"{local(last):%Y-%m-%d %H:%M:%S}" if last else "never"

    @admin.display(description="requests today")
    def requests_today(self, obj: Any) -> int:
        return self.usage(obj).requests_today

    @admin.display(description="requests, 7 days")
    def requests_7_days(self, obj: Any) -> int:
        return self.usage(obj).requests_7_days

    @admin.display(description="errors, 7 days")
    def errors_7_days(self, obj: Any) -> int:
        return self.usage(obj).errors_7_days

    # -- the change page -----------------------------------------------------------------------------------

    @admin.display(description="tokens")
    def tokens(self, obj: Any) -> str:
        now = timezone.now()
        rows = get_access_token_model().objects.filter(application__client_id=obj.client_id).order_by("-created")
        lines = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{local(token.created):%Y-%m-%d %H:%M}",
                    f"{local(token.expires):%Y-%m-%d %H:%M}",
                    token.scope,
                    "live" if token.expires > now else "expired",
                )
                for token in rows[:20]
            ),
        )
        if not lines:
            return "No token: issue one."
        return format_html(
            "<table><thead><tr><th>created</th><th>expires</th><th>scopes</th><th></th></tr></thead>"
            "<tbody>{}</tbody></table>",
            lines,
        )

    @admin.display(description="activity (UTC days)")
    def recent_activity(self, obj: Any) -> str:
        days = activity.daily_activity(obj.client_id)
        if not days:
            return "No request yet."
        lines = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    day,
                    counts.requests,
                    counts.writes,
                    counts.errors,
                    f"{local(counts.last_request):%H:%M:%S}",
                )
                for day, counts in days
            ),
        )
        return format_html(
            "<table><thead><tr><th>day</th><th>requests</th><th>writes</th><th>errors</th><th>last</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            lines,
        )

    # -- saving and deleting -------------------------------------------------------------------------------

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        record, issued = form.create()
        obj.pk, obj.client_id, obj.tenant, obj.created = record.pk, record.client_id, record.tenant, record.created
        obj._state.adding = False
        request.drf_scim_issued = issued

    def response_add(self, request: Any, obj: Any, post_url_continue: str | None = None) -> Any:
        issued = getattr(request, "drf_scim_issued", None)
        if issued is None:
            return super().response_add(request, obj, post_url_continue)
        return self.token_response(request, obj, issued, created=True)

    def delete_model(self, request: Any, obj: Any) -> None:
        self.delete_connections(SCIMClient.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        self.delete_connections(queryset)

    @staticmethod
    def delete_connections(queryset: Any) -> None:
        """A connection goes with its OAuth2 application (a provisioning one: any other stays, only no
        longer a connection), its tokens and its activity."""
        client_ids = list(queryset.values_list("client_id", flat=True))
        applications = get_application_model().objects.filter(client_id__in=client_ids)
        with transaction.atomic():
            for application in applications:
                if connections.is_provisioning_application(application):
                    application.delete()
            SCIMActivity.objects.filter(client_id__in=client_ids).delete()
            SCIMClient.objects.filter(client_id__in=client_ids).delete()
        activity.recorder.forget(client_ids)

    # -- issuing, rotating and revoking tokens -------------------------------------------------------------

    def get_urls(self) -> list:
        info = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/token/issue/", wrap(self.issue_view), name=f"{info}_issue"),
            path("<path:object_id>/token/rotate/", wrap(self.rotate_view), name=f"{info}_rotate"),
            path("<path:object_id>/token/revoke/", wrap(self.revoke_view), name=f"{info}_revoke"),
            *super().get_urls(),
        ]

    def get_connection(self, request: Any, object_id: str) -> tuple[SCIMClient, Any]:
        """The connection and its application, for a user who may change connections."""
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404("No such connection.")
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        application = get_application_model().objects.filter(client_id=obj.client_id).first()
        if application is None:
            raise Http404("The OAuth2 application of this connection is gone.")
        return obj, application

    def action_page(
        self, request: Any, obj: Any, title: str, text: str, form: Any = None, button: str = "", once: str = ""
    ) -> Any:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": title,
            "text": text,
            "form": form,
            "button": button,
            "once": once,
        }
        return TemplateResponse(request, "admin/drf_scim/scimclient/action.html", context)

    def sent_already(self, request: Any, obj: Any) -> Any:
        """The answer to a token form sent a second time (a reload): no new token."""
        text = (
            "This form was sent already: the token it made was shown once and is not shown, or made, again. "
            "Issue or rotate from the connection's page for another."
        )
        response = self.action_page(request, obj, "Sent already", text)
        response.status_code = 409
        return response

    def sent_once(self, request: Any) -> tuple[bool, str]:
        """(whether a POST carries a token form's value not spent yet, the value for the form to render)."""
        if request.method != "POST":
            return True, new_action_form(request)
        once = request.POST.get("once", "")
        return once in request.session.get(ACTION_FORMS, []), once

    @method_decorator(sensitive_variables("issued", "context"))
    def issue_view(self, request: Any, object_id: str) -> Any:
        obj, application = self.get_connection(request, object_id)
        newest = connections.live_tokens(application).first()
        initial = {"scopes": newest.scope.split() if newest else connections.default_scopes()}
        fresh, once = self.sent_once(request)
        if not fresh:
            return self.sent_already(request, obj)
        form = TokenForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            spend_action_form(request, once)
            issued = connections.issue_token(
                application, form.cleaned_data["scopes"], expires_days=form.cleaned_data["expires_days"]
            )
            self.log_change(request, obj, f"Issued a token expiring {issued.expires:%Y-%m-%d}.")
            return self.token_response(request, obj, issued)
        text = "A new token, beside the ones the connection has (they keep working until revoked or expired)."
        return self.action_page(request, obj, f"Issue a token for {obj.name}", text, form, "Issue token", once)

    @method_decorator(sensitive_variables("issued", "context"))
    def rotate_view(self, request: Any, object_id: str) -> Any:
        obj, application = self.get_connection(request, object_id)
        newest = connections.live_tokens(application).first()
        lifetime = connections.lifetime_days(newest) if newest else connections.DEFAULT_EXPIRES_DAYS
        fresh, once = self.sent_once(request)
        if not fresh:
            return self.sent_already(request, obj)
        form = RotateForm(request.POST if request.method == "POST" else None, initial={"expires_days": lifetime})
        if request.method == "POST" and form.is_valid():
            spend_action_form(request, once)
            issued = connections.rotate_token(application, expires_days=form.cleaned_data["expires_days"])
            self.log_change(request, obj, f"Rotated its token ({issued.revoked} revoked).")
            return self.token_response(request, obj, issued)
        text = (
            "A new token with the scopes of the one issued last, and every token it has now revoked: provisioning "
            "stops until the new token is entered in the identity provider's console."
        )
        return self.action_page(request, obj, f"Rotate the token of {obj.name}", text, form, "Rotate token", once)

    def revoke_view(self, request: Any, object_id: str) -> Any:
        obj, application = self.get_connection(request, object_id)
        if request.method == "POST":
            count = connections.revoke_tokens(application)
            self.log_change(request, obj, f"Revoked {count} token(s).")
            self.message_user(request, f"Revoked {count} token(s) of {obj.name}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse(f"{self.admin_site.name}:drf_scim_scimclient_change", args=[obj.pk]))
        text = "Every token of this connection stops working at once (within TOKEN_CACHE_SECONDS in other processes)."
        return self.action_page(request, obj, f"Revoke the tokens of {obj.name}", text, button="Revoke all tokens")

    @method_decorator(sensitive_variables("issued", "context"))
    def token_response(self, request: Any, obj: Any, issued: connections.IssuedToken, created: bool = False) -> Any:
        """The page that shows a new token, once: it is not stored, and admin pages are never cached."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obj,
            "title": f"The token of {connection_name(obj)}",
            "token": issued.value,
            "issued": issued,
            "created": created,
            "base_url": scim_base_url(request),
            "change_url": reverse(f"{self.admin_site.name}:drf_scim_scimclient_change", args=[obj.pk]),
        }
        return TemplateResponse(request, "admin/drf_scim/scimclient/token.html", context)
