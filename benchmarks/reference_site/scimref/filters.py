"""Filter parsers of the reference site: the attributes django-scim2 maps to columns (its PATCH too).

django-scim2 maps no group attribute by default, and of a user's neither ``externalId``, which its models store
(``scim_external_id``): a PATCH of ``externalId``, Entra's after each POST, answers 501 without the mapping.
"""

from django_scim import filters


class UserFilterQuery(filters.UserFilterQuery):
    attr_map = {**filters.UserFilterQuery.attr_map, ("externalId", None, None): "scim_external_id"}


class GroupFilterQuery(filters.GroupFilterQuery):
    attr_map = {("displayName", None, None): "name"}
