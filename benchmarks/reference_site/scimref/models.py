"""Custom user and group models, as django-scim2 documents them (its mixins give scim_id and friends)."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Upper
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    """SCIM group; its adapter renders ``name`` as displayName and ``user_set`` as members."""

    name = models.CharField(max_length=150, unique=True)  # unique: indexed for ``displayName eq``

    def __str__(self) -> str:
        return self.name


class User(AbstractSCIMUserMixin, AbstractUser):
    """SCIM user; its adapter reads the groups from ``scim_groups``."""

    scim_groups = models.ManyToManyField(Group, related_name="user_set", blank=True)

    class Meta(AbstractUser.Meta):
        # scim2-filter-parser compares ``UPPER(username) = UPPER(%s)`` for ``userName eq``.
        indexes = [models.Index(Upper("username"), name="scimref_user_username_upper")]
