"""A project with a custom user model maps SCIM attributes to its own columns (source=).

AUTH_USER_MODEL cannot change inside one test process, so the checks in
tests/custom_user/check_account.py run in a child pytest with their own settings.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_custom_user_model_in_a_separate_process():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.custom_user.settings"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/custom_user/check_account.py", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
