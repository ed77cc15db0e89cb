"""The most expensive requests a valid token may send within drf_scim's default limits, timed on PostgreSQL.

Usage (docs/topics/limits.rst; results in benchmarks/results/worst_cases.md)::

    .venv/bin/python benchmarks/worst_cases.py --database scim_worst --users 20000 --emails 5

The database is dropped and created afresh on the local PostgreSQL server. Requests go through Django's test
client in this process, with the sample site's settings (so STATEMENT_TIMEOUT applies): the times are the
server's work, without the network and gunicorn.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def emails(count: int, prefix: str) -> list[dict]:
    return [{"value": f"{prefix}{n}@example.com", "type": f"t{n}"} for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="scim_worst")
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--emails", type=int, default=5, help="extra e-mails of every seeded user")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "worst_cases.md"))
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{args.database}"')
        admin.execute(f'CREATE DATABASE "{args.database}"')
    os.environ["DATABASE_URL"] = f"postgres:///{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_site.settings")
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

    import django

    django.setup()
    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.test import Client

    from drf_scim.models import SCIMUser, SCIMValue
    from drf_scim.settings import scim_settings

    call_command("migrate", verbosity=0)
    call_command("scim_seed", users=args.users, groups=10, stdout=StringIO())
    resource_type = ContentType.objects.get_for_model(SCIMUser)
    for start in range(0, args.users, 2000):  # every user gets --emails more e-mail rows (the filters scan them)
        rows = SCIMUser.objects.order_by("pk").values_list("pk", flat=True)[start : start + 2000]
        SCIMValue.objects.bulk_create(
            SCIMValue(
                resource_type=resource_type,
                resource_id=pk,
                attribute="emails",
                value_key=f"extra{n}.{pk}@example.org",
                item={"value": f"extra{n}.{pk}@example.org", "type": "other"},
            )
            for pk in rows
            for n in range(args.emails)
        )
    out = StringIO()
    call_command("scim_token", client="worst", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    base = "/scim/v2"
    rows: list[tuple[str, int, float]] = []

    def timed(name: str, method: str, path: str, body: object = None, **params: str) -> dict:
        data = json.dumps(body) if body is not None else None
        started = time.perf_counter()
        if method == "get":
            response = client.get(path, params)
        else:
            response = getattr(client, method)(path, data=data, content_type="application/scim+json")
        seconds = time.perf_counter() - started
        rows.append((name, response.status_code, seconds))
        print(f"{seconds * 1000:9.1f} ms  {response.status_code}  {name}", flush=True)
        return json.loads(response.content) if response.content else {}

    limit = scim_settings.MAX_ATTRIBUTE_VALUES
    full = timed(
        f"POST a user with {limit} e-mails (MAX_ATTRIBUTE_VALUES)",
        "post",
        f"{base}/Users",
        {"schemas": [USER], "userName": "full@example.com", "emails": emails(limit, "full")},
    )
    timed(
        f"POST a user with {limit + 1} e-mails (refused)",
        "post",
        f"{base}/Users",
        {"schemas": [USER], "userName": "over@example.com", "emails": emails(limit + 1, "over")},
    )
    one = {"op": "replace", "path": f'emails[type eq "t{limit - 1}"].value', "value": "x@example.com"}
    timed(
        f"PATCH: 900 filtered operations over {limit} e-mails (the most MAX_PATCH_COST allows)",
        "patch",
        f"{base}/Users/{full['id']}",
        {"schemas": [PATCH_OP], "Operations": [one] * 900},
    )
    timed(
        f"PATCH: 1,000 filtered operations over {limit} e-mails (refused)",
        "patch",
        f"{base}/Users/{full['id']}",
        {"schemas": [PATCH_OP], "Operations": [one] * 1000},
    )
    pathless = {"op": "replace", "value": {f"unknown{n}": "x" for n in range(10_000)}}
    timed(
        "PATCH: one path-less operation of 10,000 keys (the most MAX_PATCH_COST allows)",
        "patch",
        f"{base}/Users/{full['id']}",
        {"schemas": [PATCH_OP], "Operations": [pathless]},
    )
    add = {"op": "add", "path": "emails", "value": emails(limit - 1, "added")}
    timed(
        f"PATCH: add {limit - 1} e-mails to a user with one",
        "patch",
        f"{base}/Users/{SCIMUser.objects.order_by('pk').first().scim_id}",
        {"schemas": [PATCH_OP], "Operations": [add]},
    )
    co = [f'emails[value co "nomatch{n}"]' for n in range(5)]
    eq = [f'emails[value eq "nomatch{n}@example.com"]' for n in range(5)]
    names = [f'userName eq "nomatch{n}@example.com"' for n in range(40)]
    worst = " or ".join(co + eq + names)
    timed("GET /Users: 50 clauses, 10 value filters, 5 co (the whole budget)", "get", f"{base}/Users", filter=worst)
    timed(
        "POST /Users/.search, the same filter, sorted by displayName",
        "post",
        f"{base}/Users/.search",
        {"schemas": [SEARCH], "filter": worst, "sortBy": "displayName"},
    )
    timed(
        "GET /Users: not (2 x displayName ew) and 3 x emails[type co], sorted by displayName, count 1000",
        "get",
        f"{base}/Users",
        filter="not ("
        + " or ".join(f'displayName ew "nomatch{n}"' for n in range(2))
        + ") and ("
        + " or ".join(f'emails[type co "nomatch{n}"]' for n in range(3))
        + ")",
        sortBy="displayName",
        count=str(scim_settings.MAX_PAGE_SIZE),
    )
    timed(
        "POST /.search: the whole budget over every resource type",
        "post",
        f"{base}/.search",
        {"schemas": [SEARCH], "filter": worst},
    )
    timed("GET /Users: 51 clauses (refused)", "get", f"{base}/Users", filter=" or ".join(names + names[:11]))
    first_page = SCIMUser.objects.order_by("pk").values_list("pk", flat=True)[: scim_settings.MAX_PAGE_SIZE]
    SCIMUser.objects.filter(pk__in=list(first_page)).update(
        data={"active": True, "displayName": "Full", "emails": emails(limit, "page")}
    )
    timed(
        f"GET /Users?count={scim_settings.MAX_PAGE_SIZE} (MAX_PAGE_SIZE), each user with {limit} e-mails",
        "get",
        f"{base}/Users",
        count=str(scim_settings.MAX_PAGE_SIZE),
    )
    members = [{"value": str(scim_id)} for scim_id in SCIMUser.objects.values_list("scim_id", flat=True)[:10_000]]
    group = timed(
        "POST a group with 10,000 members (MAX_MEMBERS_PER_OPERATION)",
        "post",
        f"{base}/Groups",
        {"displayName": "Everyone", "members": members},
    )
    timed(
        "PATCH: remove 10,000 members and add them back, in one request",
        "patch",
        f"{base}/Groups/{group['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "remove", "path": "members", "value": members},
                {"op": "add", "path": "members", "value": members},
            ],
        },
    )
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"b{n}",
            "data": {"schemas": [USER], "userName": f"bulk{n}@example.com", "emails": [{"value": f"b{n}@x.org"}]},
        }
        for n in range(scim_settings.BULK_MAX_OPERATIONS)
    ]
    timed(
        f"Bulk: {scim_settings.BULK_MAX_OPERATIONS} creations (BULK_MAX_OPERATIONS)",
        "post",
        f"{base}/Bulk",
        {"schemas": [BULK], "Operations": operations},
    )

    heavy = {"schemas": [PATCH_OP], "Operations": [one] * 900}
    per_operation = len(json.dumps({"method": "PATCH", "path": f"/Users/{full['id']}", "data": heavy}))
    fits = (scim_settings.MAX_PAYLOAD_SIZE - 200) // per_operation
    timed(
        f"Bulk: {fits} PATCHes of 900 filtered operations each (as many as MAX_PAYLOAD_SIZE holds)",
        "post",
        f"{base}/Bulk",
        {
            "schemas": [BULK],
            "Operations": [{"method": "PATCH", "path": f"/Users/{full['id']}", "data": heavy}] * fits,
        },
    )

    with open(args.output, "w") as report:
        report.write(
            f"Worst cases within the default limits: {args.users:,} users with {args.emails + 1} e-mails each, "
            f"PostgreSQL, in process (benchmarks/worst_cases.py)\n\n"
            "| request | status | ms |\n|---|---|---|\n"
        )
        for name, status, seconds in rows:
            report.write(f"| {name} | {status} | {seconds * 1000:,.0f} |\n")
    print(f"Wrote {args.output}")


if __name__ == "__main__":
    main()
