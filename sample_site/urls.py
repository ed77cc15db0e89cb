from django.contrib import admin
from django.urls import include, path

from drf_scim.routers import SCIMRouter

scim_router = SCIMRouter()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("scim/v2/", include(scim_router.urls)),
]
