from django.contrib import admin
from django.urls import include, path

from drf_scim.contrib.drf_spectacular import RedocView, SchemaView, SwaggerView
from drf_scim.routers import SCIMRouter
from sample_site import events

scim_router = SCIMRouter()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("scim/v2/", include(scim_router.urls)),
    path("events/", events.received, name="received-events"),
    path("events/receiver", events.receiver, name="event-receiver"),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc/",
        RedocView.as_view(url_name="schema", template_name="sample_site/redoc.html"),
        name="redoc",
    ),
]
