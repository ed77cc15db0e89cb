from django.urls import include, path

from drf_scim.routers import SCIMRouter
from sample_site.urls import urlpatterns as sample_urlpatterns
from tests.testapp.views import DeviceViewSet

router = SCIMRouter()
router.register("Devices", DeviceViewSet)

urlpatterns = [path("scim/v2/", include(router.urls)), *sample_urlpatterns]
