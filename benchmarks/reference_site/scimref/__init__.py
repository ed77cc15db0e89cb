"""User and group models of the reference site, with django-scim2's mixins, and its benchmark commands."""
