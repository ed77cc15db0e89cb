"""django-scim2's endpoints under /scim/v2/ (its urls declare the mandatory ``scim`` namespace)."""

from django.urls import include, path

urlpatterns = [path("scim/v2/", include("django_scim.urls", namespace="scim"))]
