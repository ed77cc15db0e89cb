"""Filter parser mapping groups' displayName to their name (django-scim2 maps no group attribute by default)."""

from django_scim import filters


class GroupFilterQuery(filters.GroupFilterQuery):
    attr_map = {("displayName", None, None): "name"}
