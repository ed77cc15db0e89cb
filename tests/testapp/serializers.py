"""Serializers used by the tests to exercise extension points."""

from drf_scim.fields import StringAttribute
from drf_scim.serializers import ComplexAttribute, EnterpriseUserExtension, SCIMExtension, UserSerializer


class BadgeUserSerializer(UserSerializer):
    """A User with an immutable attribute: set once, then fixed."""

    badgeNumber = StringAttribute(required=False, mutability="immutable", case_exact=True)

    class Meta(UserSerializer.Meta):
        pass


class BadgeSerializer(ComplexAttribute):
    number = StringAttribute(required=False)
    site = StringAttribute(required=False)


class AcmeExtension(SCIMExtension):
    """A customer's own extension: a string and a multi-valued complex attribute."""

    favouriteColour = StringAttribute(required=False)
    badges = BadgeSerializer(many=True, required=False)

    class Meta:
        schema = "urn:acme:params:scim:schemas:extension:2.0:User"
        name = "AcmeUser"
        storage_key = "acme"


class AcmeUserSerializer(UserSerializer):
    class Meta(UserSerializer.Meta):
        extensions = [EnterpriseUserExtension, AcmeExtension]


class RenderingCount(StringAttribute):
    """A read-only attribute that renders how many times it has been rendered: it shows which rendering a
    response is."""

    renderings = 0

    def __init__(self, **kwargs):
        super().__init__(read_only=True, source="*", **kwargs)

    def to_representation(self, value):
        RenderingCount.renderings += 1
        return str(RenderingCount.renderings)


class CountedUserSerializer(UserSerializer):
    renderingCount = RenderingCount()

    class Meta(UserSerializer.Meta):
        pass
