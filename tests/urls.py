from django.urls import include, path

from drf_scim.routers import SCIMRouter
from sample_site.urls import urlpatterns as sample_urlpatterns
from tests.testapp.views import DeviceViewSet, FilterableUserViewSet

router = SCIMRouter()
router.register("Devices", DeviceViewSet)

filterable = SCIMRouter(include_defaults=False)
filterable.register("Users", FilterableUserViewSet)

urlpatterns = [
    path("scim/v2/", include(router.urls)),
    path("scim/filterable/", include(filterable.urls)),
    *sample_urlpatterns,
]
