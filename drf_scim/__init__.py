"""drf_scim: a SCIM 2.0 service provider for Django REST Framework."""

__version__ = "0.1.0"
