from django.urls import include, path

from drf_scim.routers import SCIMRouter
from sample_site.urls import urlpatterns as sample_urlpatterns
from tests.testapp.views import ActiveOnlyUserViewSet, DeviceViewSet, FilterableUserViewSet, StaffOnlyUserViewSet

router = SCIMRouter()
router.register("Devices", DeviceViewSet)

filterable = SCIMRouter(include_defaults=False)
filterable.register("Users", FilterableUserViewSet)

staff_only = SCIMRouter(include_defaults=False)
staff_only.register("Users", StaffOnlyUserViewSet)

active_only = SCIMRouter(include_defaults=False)
active_only.register("Users", ActiveOnlyUserViewSet)

urlpatterns = [
    path("scim/v2/", include(router.urls)),
    path("scim/filterable/", include(filterable.urls)),
    path("scim/staff/", include(staff_only.urls)),
    path("scim/active/", include(active_only.urls)),
    *sample_urlpatterns,
]
