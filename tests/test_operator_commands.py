"""Commands an operator types against a `make run` install: users, demo data, settings file."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent


def _create_user(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        call_command("create_user", *args, stdout=out)
    finally:
        sys.stdin = old
    return out.getvalue()


def test_create_user_makes_a_normal_account_that_can_log_in(db, client):
    out = _create_user(
        "mara", "mara@example.com", "--password-stdin", stdin="lighthouse-keeper-7\n"
    )
    user = get_user_model().objects.get(username="mara")
    assert "Created “mara”" in out
    assert user.email == "mara@example.com" and not user.is_staff and not user.is_superuser
    assert client.login(username="mara", password="lighthouse-keeper-7")


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("mara", "not-an-address", "--password-stdin"), "lighthouse-keeper-7\n", "valid email"),
        (("mara", "mara@example.com", "--password-stdin"), "1234\n", "Password refused"),
        (("mara", "mara@example.com", "--password-stdin"), "\n", "empty line"),
        (("mara", "mara@example.com"), "", "use --password-stdin"),
    ],
)
def test_create_user_refuses_bad_input_and_creates_nothing(db, args, stdin, message):
    with pytest.raises(CommandError, match=message):
        _create_user(*args, stdin=stdin)
    assert not get_user_model().objects.filter(username="mara").exists()


def test_create_user_refuses_a_taken_name_in_any_case(db):
    _create_user("mara", "mara@example.com", "--password-stdin", stdin="lighthouse-keeper-7\n")
    with pytest.raises(CommandError, match="already"):
        _create_user("MARA", "other@example.com", "--password-stdin", stdin="another-pass-99\n")
    assert get_user_model().objects.count() == 1


def test_seed_demo_refuses_with_debug_off_unless_forced(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--force"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="demo").exists()
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    assert get_user_model().objects.filter(username="demo").exists()
    assert "public password" in out.getvalue()


def _debug_with_env_file(tmp_path: Path, env: dict[str, str], file_text: str):
    (tmp_path / "castboard.env").write_text(file_text)
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update({"DJANGO_SETTINGS_MODULE": "studio.settings", "STUDIO_VAR_DIR": str(tmp_path)})
    base.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
        ],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_commands_in_a_make_run_checkout_read_its_env_file(tmp_path):
    result = _debug_with_env_file(tmp_path, {}, "# local\nDJANGO_DEBUG=true\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_the_real_environment_wins_over_the_env_file(tmp_path):
    result = _debug_with_env_file(tmp_path, {"DJANGO_DEBUG": "false"}, "DJANGO_DEBUG=true\n")
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is required" in result.stderr


def test_a_malformed_env_file_names_the_line(tmp_path):
    result = _debug_with_env_file(tmp_path, {}, "DJANGO_DEBUG=true\nthis is not a setting\n")
    assert result.returncode != 0 and "castboard.env:2" in result.stderr
