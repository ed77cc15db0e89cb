"""How a project maps SCIM attributes onto its own user model: subclass and redeclare with source=."""

from drf_scim.constants import ENTERPRISE_USER_SCHEMA
from drf_scim.fields import StringAttribute
from drf_scim.serializers import EnterpriseUserExtension, UserSerializer
from drf_scim.serializers.users import NameSerializer


class AccountNameSerializer(NameSerializer):
    givenName = StringAttribute(source="given_name", required=False, max_length=80)
    familyName = StringAttribute(source="family_name", required=False, max_length=80)


class AccountEnterpriseExtension(EnterpriseUserExtension):
    # No source: Account has a ``department`` column, so the value is stored there.
    department = StringAttribute(required=False, max_length=100)

    class Meta(EnterpriseUserExtension.Meta):
        schema = ENTERPRISE_USER_SCHEMA


class AccountSerializer(UserSerializer):
    userName = StringAttribute(source="email", required=True, allow_blank=False, max_length=254, uniqueness="server")
    name = AccountNameSerializer(source="*", required=False)
    displayName = StringAttribute(source="full_name", required=False, max_length=200)

    class Meta(UserSerializer.Meta):
        extensions = [AccountEnterpriseExtension]
