"""Time the adoption of a project's existing users: N users and N/100 groups written without signals (as a
project has them before drf_scim), then ``manage.py scim_adopt``, on a PostgreSQL database of its own.

    .venv/bin/python benchmarks/adoption.py --users 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "scim_adoption_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    subprocess.run(["dropdb", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", DATABASE], check=True)
    os.environ.update(DATABASE_URL=f"postgres:///{DATABASE}", DJANGO_SETTINGS_MODULE="sample_site.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    User = get_user_model()
    started = time.monotonic()
    for start in range(0, args.users, 10_000):
        User.objects.bulk_create(
            User(username=f"existing{n}@corp.example", email=f"existing{n}@corp.example", last_name=str(n))
            for n in range(start, min(start + 10_000, args.users))
        )
    groups = Group.objects.bulk_create(Group(name=f"Team {n}") for n in range(max(1, args.users // 100)))
    print(f"wrote {args.users} users and {len(groups)} groups without signals in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    call_command("scim_adopt")
    print(f"scim_adopt: {time.monotonic() - started:.1f} s for {args.users} users and {len(groups)} groups")
    django.db.connections.close_all()
    subprocess.run(["dropdb", DATABASE], check=True)


if __name__ == "__main__":
    main()
