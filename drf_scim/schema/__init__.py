"""SCIM schema metadata: attribute characteristics and the resource type registry."""
