"""Projects, media access, configuration and the embedded start-up commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from studio.env import env_bool, env_int
from studio.models import Membership, Project
from tests.factories import (
    BoardFactory,
    CharacterFactory,
    LocationFactory,
    PanelFactory,
    ReferenceImageFactory,
    ReferenceSheetFactory,
    TakeFactory,
)

ROOT = Path(__file__).resolve().parent.parent


def test_creating_a_project_makes_the_creator_its_owner(team):
    client = team.client("outsider")
    response = client.post(reverse("project_create"), {"name": "Night Ferry", "description": ""})
    project = Project.objects.get(name="Night Ferry")
    assert response.status_code == 302 and response["Location"] == reverse(
        "project_detail", args=[project.pk]
    )
    assert Membership.objects.get(project=project).role == "owner"


def test_project_list_shows_only_my_projects(team):
    body = team.client("outsider").get(reverse("project_list")).content.decode()
    assert "Elsewhere" in body and "Harbour Lights" not in body


def test_empty_project_page_explains_what_to_do_next(team):
    body = (
        team.client("editor")
        .get(reverse("project_detail", args=[team.project.pk]))
        .content.decode()
    )
    assert "No boards yet" in body and "No characters yet" in body and "No locations yet" in body


def test_project_page_runs_a_fixed_number_of_queries(team, django_assert_max_num_queries):
    def grow(n):
        for _i in range(n):
            character = CharacterFactory(project=team.project)
            ReferenceImageFactory(sheet=ReferenceSheetFactory(character=character))
            LocationFactory(project=team.project)
            PanelFactory(board=BoardFactory(project=team.project), position=0)

    client = team.client("editor")
    url = reverse("project_detail", args=[team.project.pk])
    grow(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(url)
    grow(20)
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(small) == len(large), "project page queries grow with its size"
    with django_assert_max_num_queries(12):
        client.get(url)


def test_spending_cap_is_an_owner_setting(team):
    url = reverse("project_settings", args=[team.project.pk])
    response = team.client("owner").post(url, {"name": "Harbour Lights", "spending_cap": "-1"})
    assert response.status_code == 200 and "cannot be negative" in response.content.decode()
    team.client("owner").post(url, {"name": "Harbour Lights", "spending_cap": "25"})
    team.project.refresh_from_db()
    assert team.project.spending_cap == 25


# --- media -------------------------------------------------------------------


def test_media_is_served_to_members_with_its_type_and_nosniff(team):
    take = TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))
    url = take.file.url
    response = team.client("viewer").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert team.client("outsider").get(url).status_code == 404
    assert Client().get(url).status_code == 302


@pytest.mark.parametrize(
    "name",
    [
        "projects/1/../2/x.png",
        "etc/passwd",
        "projects/x/a.png",
        "projects/1/takes/none.png",
        "projects/1/a.html",
    ],
)
def test_media_refuses_paths_outside_a_project_or_of_unknown_types(team, name):
    assert team.client("owner").get(f"/media/{name}").status_code == 404


def test_media_can_hand_the_bytes_to_the_front_server(team, settings):
    take = TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))
    settings.STUDIO_MEDIA_ACCEL = "nginx"
    response = team.client("viewer").get(take.file.url)
    assert response["X-Accel-Redirect"] == "/protected-media/" + take.file.name
    assert response["Content-Type"] == "image/png" and response.content == b""
    settings.STUDIO_MEDIA_ACCEL = "sendfile"
    response = team.client("viewer").get(take.file.url)
    assert response["X-Sendfile"].endswith(take.file.name)


# --- configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("FALSE", False), ("On", True), ("0", False)]
)
def test_booleans_from_the_environment(monkeypatch, raw, value):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", not value) is value


def test_a_bad_boolean_or_number_is_an_error_not_false(monkeypatch):
    monkeypatch.setenv("X_FLAG", "flase")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_NUM"):
        env_int("X_NUM", 1)


def _settings_run(
    env: dict[str, str], code: str = "from django.conf import settings; settings.DEBUG"
):
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "BFL_", "STUDIO_BACKEND"))
    }
    base.update({"DJANGO_SETTINGS_MODULE": "studio.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_run({"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "boards.example.com"})
    assert result.returncode != 0 and "DJANGO_SECRET_KEY is required" in result.stderr


def test_debug_refuses_to_serve_public_hosts():
    result = _settings_run({"DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": "boards.example.com"})
    assert result.returncode != 0 and "debug is for local development only" in result.stderr


def test_bfl_backend_needs_its_key():
    result = _settings_run({"DJANGO_DEBUG": "true", "STUDIO_BACKEND": "bfl"})
    assert result.returncode != 0 and "BFL_API_KEY" in result.stderr


def test_check_deploy_is_clean_with_a_production_environment():
    result = _settings_run(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ",
            "DJANGO_ALLOWED_HOSTS": "boards.example.com",
        },
        "from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')",
    )
    assert result.returncode == 0, result.stderr


# --- commands ------------------------------------------------------------------


def test_seed_demo_is_idempotent_and_looks_alive(db, capsys, settings):
    from boards.models import Board, Panel

    settings.DEBUG = True  # as under make run
    from characters.models import Character, Location, ReferenceImage

    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    assert "password" in first and "demo" in first
    project = Project.objects.get(name="Harbour Lights")
    assert Project.objects.filter(name="Harbour Lights").count() == 1
    characters = Character.objects.filter(project=project)
    assert characters.count() >= 3
    for character in characters:
        sheets = list(character.sheets.all())
        assert len(sheets) >= 2
        assert all(ReferenceImage.objects.filter(sheet=s).count() >= 2 for s in sheets)
    assert Location.objects.filter(project=project).count() >= 2
    assert project.style and project.style_images.exists()
    board = Board.objects.get(project=project)
    panels = Panel.objects.filter(board=board)
    assert panels.count() >= 8
    assert panels.filter(cast__isnull=False).distinct().count() >= 6
    assert panels.exclude(dialogue="").count() >= 4
    assert len(set(panels.values_list("shot_type", flat=True))) >= 4


def test_owner_picks_a_configured_backend_and_model(team, settings):
    settings.BFL_API_KEY = "configured"
    url = reverse("project_settings", args=[team.project.pk])
    client = team.client("owner")
    body = client.get(url).content.decode()
    assert "bfl:flux-kontext-pro" in body and "sketch:sketch-v1" in body
    client.post(url, {"name": "Harbour Lights", "generator": "bfl:flux-kontext-pro"})
    team.project.refresh_from_db()
    assert (team.project.backend, team.project.model) == ("bfl", "flux-kontext-pro")
    settings.BFL_API_KEY = ""
    response = client.post(url, {"name": "Harbour Lights", "generator": "bfl:flux-2-pro"})
    assert (
        response.status_code == 200
        and "not one of the available choices" in response.content.decode()
    )
    client.post(url, {"name": "Harbour Lights", "generator": ""})
    team.project.refresh_from_db()
    assert team.project.backend == ""
