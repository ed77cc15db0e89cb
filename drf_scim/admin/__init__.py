"""The Django admin of a SCIM integration: its connections, and the SCIM bookkeeping of users and groups.

The connections page is the console of the people who run provisioning: each identity provider's OAuth2
application with its tenant, scopes, token expiry and activity, and the buttons that make a connection and
issue, rotate and revoke its token (shown once). The user and group pages show what drf_scim keeps beside
the host's accounts (tenant, keys, the raw document, the indexed values, the latest changes), read-only: SCIM
clients and the host's own models are where accounts change. The audit trail lists every change, read-only; the event
receivers and their deliveries (dead letters retried from there) are on the events pages.
"""

from . import audit, connections, events, resources

__all__ = ["audit", "connections", "events", "resources"]
