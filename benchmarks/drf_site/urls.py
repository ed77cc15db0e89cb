from django.urls import include, path

from drf_scim.routers import SCIMRouter

from . import floor

urlpatterns = [
    path("scim/v2/", include(SCIMRouter().urls)),
    path("floor/Users", floor.users),
    path("floor/Users/<str:scim_id>", floor.detail),
]
