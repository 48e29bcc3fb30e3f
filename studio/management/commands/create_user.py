"""create_user: make a normal (non-staff) account from the command line."""

from __future__ import annotations

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from studio import services


class Command(BaseCommand):
    help = (
        "Create a studio account (not an administrator). The password is asked twice, "
        "or read from the first line of standard input with --password-stdin."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("email")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input (for scripts)",
        )

    def handle(self, *args, username: str, email: str, password_stdin: bool, **options):
        User = get_user_model()
        username = username.strip()
        email = email.strip()
        user = User(username=username, email=email)
        try:
            user.full_clean(exclude=["password"])
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from None
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"There is already an account named “{username}”.")
        password = _read_stdin() if password_stdin else _ask_twice()
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("Password refused: " + _messages(exc)) from None
        services.user_create(username=username, email=email, password=password)
        self.stdout.write(self.style.SUCCESS(f"Created “{username}” <{email}>."))


def _messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _read_stdin() -> str:
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("--password-stdin read an empty line: pipe the password in.")
    return password


def _ask_twice() -> str:
    if not sys.stdin.isatty():
        raise CommandError("No terminal to ask for a password: use --password-stdin.")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise CommandError("The two passwords differ; nothing was created.")
    return first
