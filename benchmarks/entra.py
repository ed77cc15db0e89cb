"""The requests Microsoft Entra ID sends on a provisioning cycle, as plans that full_sync.py replays.

Pure: no server, no clock, no database. A plan is a list of phases; a phase is a list of chains that may run
concurrently; a chain is one resource's requests, in the order Entra sends them (a user's lookup, then its POST,
then its PATCH). A request names the ids a server gives by ``Ref`` ("u17", "g3"), resolved when it is sent.
The shapes are those of /work/shared/IDP.md (Microsoft Learn's "Develop and plan provisioning for a SCIM
endpoint" and its known issues): capitalised ops, ``"False"`` as a string, the extra group schema, members
added in batches of up to 100 with ``"$ref": null``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
AD_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEMBER_BATCH = 100  # Entra adds at most this many members in one PATCH
DOMAIN = "contoso.example.com"
NAMESPACE = uuid.UUID("6f1c2f8e-3d55-4b8a-9a43-2b4a0f6f6a10")  # the replay's Entra object ids, reproducible


@dataclass(frozen=True)
class Ref:
    """The id the server gave the resource ``key`` (a user ``u17``, a group ``g3``), known once it is created."""

    key: str


@dataclass(frozen=True)
class Step:
    """One request of a plan. ``{id}`` in the path is ``target``'s id; ``Ref`` values in the body are resolved
    too. A lookup says how many resources it must find; a POST, which ``Ref`` its answer's id is."""

    kind: str  # what the request is, for the report: "lookup user", "POST user", ...
    method: str
    path: str
    body: Any = None
    expect: tuple[int, ...] = (200,)
    target: Ref | None = None
    found: int | None = None
    creates: Ref | None = None


Chain = list[Step]
Phase = list[Chain]


@dataclass
class Cycle:
    """A provisioning cycle: its phases, one after the other (a group's members once every user exists)."""

    name: str
    phases: list[Phase] = field(default_factory=list)

    def steps(self) -> Iterator[Step]:
        """Every request of the cycle, phase by phase, chain by chain."""
        for phase in self.phases:
            for chain in phase:
                yield from chain


def user_name(n: int) -> str:
    """The userName (a UPN) of user ``n``, counted from 1."""
    return f"user{n}@{DOMAIN}"


def group_name(g: int) -> str:
    """The displayName of group ``g``, counted from 1 (with a space: Entra's query string sends it as ``+``)."""
    return f"Sync group {g}"


def object_id(kind: str, n: int) -> str:
    """The Entra object id of a user or group: the externalId Entra sets."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}{n}"))


def lookup(endpoint: str, attribute: str, value: str, extra: dict[str, str] | None = None) -> str:
    """A filter query encoded as Entra encodes it: ``filter=userName+eq+%22user1%40...%22``."""
    return f"/{endpoint}?" + urlencode({"filter": f'{attribute} eq "{value}"', **(extra or {})})


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def new_user(n: int) -> dict[str, Any]:
    """Entra's POST /Users body; one user in four also carries the explicit nulls Entra sometimes sends."""
    given, family = f"Given{n}", f"Family{n}"
    body: dict[str, Any] = {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "externalId": f"user{n}",
        "userName": user_name(n),
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": user_name(n)}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"{given} {family}", "familyName": family, "givenName": given},
        "roles": [],
    }
    if n % 4 == 0:
        body.update({"addresses": None, "phoneNumbers": None, "title": None, "preferredLanguage": None})
        body[ENTERPRISE_USER] = {"department": None, "manager": None}
    return body


def new_group(g: int) -> dict[str, Any]:
    """Entra's POST /Groups body: the extra schema URI, no members."""
    return {
        "schemas": [CORE_GROUP, AD_GROUP],
        "externalId": object_id("group", g),
        "displayName": group_name(g),
        "meta": {"resourceType": "Group"},
    }


def memberships(users: int, groups: int) -> dict[int, list[int]]:
    """The members of each group: user ``n`` is in group ``(n - 1) % groups + 1``, every third user in a second
    group half-way round as well, so that each user is in one or two groups."""
    members: dict[int, list[int]] = {g: [] for g in range(1, groups + 1)}
    for n in range(1, users + 1):
        first = (n - 1) % groups
        members[first + 1].append(n)
        if n % 3 == 0 and groups > 1:
            members[(first + groups // 2) % groups + 1].append(n)
    return members


def batches(items: list[int], size: int = MEMBER_BATCH) -> list[list[int]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def initial_cycle(users: int, groups: int) -> Cycle:
    """Provisioning from scratch. Phase 1: for each user a lookup by userName (none found), a POST and a PATCH
    of externalId; for each group a lookup by displayName and a POST with no members. Phase 2: each group's
    members, added in batches of up to 100."""
    user_chains = [
        [
            Step("lookup user", "GET", lookup("Users", "userName", user_name(n)), found=0),
            Step("POST user", "POST", "/Users", new_user(n), expect=(201,), creates=Ref(f"u{n}")),
            Step(
                "PATCH user externalId", "PATCH", "/Users/{id}", target=Ref(f"u{n}"), expect=(200, 204),
                body=patch({"op": "Replace", "path": "externalId", "value": object_id("user", n)}),
            ),
        ]
        for n in range(1, users + 1)
    ]  # fmt: skip
    group_chains = [
        [
            Step("lookup group", "GET", group_lookup(g), found=0),
            Step("POST group", "POST", "/Groups", new_group(g), expect=(201,), creates=Ref(f"g{g}")),
        ]
        for g in range(1, groups + 1)
    ]
    member_chains = [
        [add_members(g, batch) for batch in batches(members)]
        for g, members in memberships(users, groups).items()
        if members
    ]
    return Cycle("initial", [user_chains + group_chains, member_chains])


def group_lookup(g: int) -> str:
    return lookup("Groups", "displayName", group_name(g), {"excludedAttributes": "members"})


def add_members(g: int, members: list[int]) -> Step:
    """Entra's PATCH adding members: one ``Add`` of up to 100 ``{"$ref": null, "value": id}``."""
    value = [{"$ref": None, "value": Ref(f"u{n}")} for n in members]
    body = patch({"op": "Add", "path": "members", "value": value})
    return Step("PATCH group add members", "PATCH", "/Groups/{id}", body, (200, 204), target=Ref(f"g{g}"))


@dataclass(frozen=True)
class Sample:
    """What an incremental cycle touches: users looked up, renamed, deactivated; groups losing a member."""

    lookups: int
    changes: int
    deactivations: int
    removals: int

    @classmethod
    def of(cls, users: int, groups: int) -> Sample:
        """A tenth of the users looked up, a hundredth renamed and another deactivated, and as many groups
        (at most all of them) losing one member each."""
        lookups = max(1, users // 10)
        few = max(1, users // 100)
        changes = min(few, lookups)
        return cls(lookups, changes, min(few, lookups - changes), min(groups, few))


def sampled_users(users: int, groups: int) -> tuple[list[int], list[int], list[int]]:
    """The users an incremental cycle looks up (spread over all of them), and of those the renamed and the
    deactivated ones."""
    sample = Sample.of(users, groups)
    looked_up = list(range(1, users + 1, max(1, users // sample.lookups)))[: sample.lookups]
    renamed = looked_up[: sample.changes]
    return looked_up, renamed, looked_up[sample.changes : sample.changes + sample.deactivations]


def removals(users: int, groups: int) -> dict[int, int]:
    """The groups that lose a member in an incremental cycle, and the member each loses (its first)."""
    members = memberships(users, groups)
    return {g: members[g][0] for g in [g for g in members if members[g]][: Sample.of(users, groups).removals]}


def incremental_cycle(users: int, groups: int, *, boolean_active: bool = False) -> Cycle:
    """A later cycle: users looked up by userName (each found), some of them then renamed by a PATCH of
    ``name.givenName`` and ``name.familyName``, others deactivated (``"False"``, a string, as Entra sends it
    without the aadOptscim062020 flag; a boolean with ``boolean_active``); groups looked up by displayName,
    each then losing one member (Entra's ``Remove`` with a value)."""
    looked_up, renamed, deactivated = sampled_users(users, groups)
    deactivate = patch({"op": "Replace", "path": "active", "value": False if boolean_active else "False"})
    chains: Phase = []
    for n in looked_up:
        chain = [Step("lookup user", "GET", lookup("Users", "userName", user_name(n)), found=1)]
        if n in renamed:
            operations = [
                {"op": "Replace", "path": "name.givenName", "value": f"Renamed{n}"},
                {"op": "Replace", "path": "name.familyName", "value": f"Family{n}"},
            ]
            chain.append(user_patch("PATCH user rename", n, patch(*operations)))
        elif n in deactivated:
            chain.append(user_patch("PATCH user active", n, deactivate))
        chains.append(chain)
    for g, n in removals(users, groups).items():
        body = patch({"op": "Remove", "path": "members", "value": [{"value": Ref(f"u{n}")}]})
        chains.append(
            [
                Step("lookup group", "GET", group_lookup(g), found=1),
                Step("PATCH group remove member", "PATCH", "/Groups/{id}", body, (200, 204), target=Ref(f"g{g}")),
            ]
        )
    return Cycle("incremental", [chains])


def user_patch(kind: str, n: int, body: dict[str, Any]) -> Step:
    return Step(kind, "PATCH", "/Users/{id}", body, (200, 204), target=Ref(f"u{n}"))


def resolve(value: Any, ids: dict[str, str]) -> Any:
    """``value`` with every ``Ref`` replaced by its id (KeyError: a resource that was never created)."""
    if isinstance(value, Ref):
        return ids[value.key]
    if isinstance(value, dict):
        return {key: resolve(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, ids) for item in value]
    return value
