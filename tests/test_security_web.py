"""Web security: CSRF on every write, ids smuggled through forms, log-in throttling, deployment headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from boards import services as board_services
from boards.models import CastMember, Export
from studio.models import LoginFailure
from tests.factories import (
    BoardFactory,
    CharacterFactory,
    LocationFactory,
    ProjectFactory,
    ReferenceSheetFactory,
    TakeFactory,
    UserFactory,
)
from tests.test_access_matrix import CASES, _url, world  # noqa: F401 - world is a fixture
from tests.test_board_pages import panel_post
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}
HTMX = {"HTTP_HX_REQUEST": "true"}
PASSWORD = "pass-word-123"  # tests.factories.UserFactory's


def database_snapshot() -> dict[str, list[dict]]:
    """Every row of every model, to prove a refused request changed nothing."""
    return {
        model._meta.label: sorted(
            (json.dumps(row, default=str, sort_keys=True) for row in model.objects.values()),
        )
        for model in apps.get_models()
    }


# --- 1. CSRF on every state-changing URL --------------------------------------------------

POST_NAMES = sorted(n for n, case in CASES.items() if any(m == "POST" for m, _ in case.checks))


def test_every_write_url_is_walked():
    # A new POST view joins CASES (the access matrix insists) and so this walk.
    assert len(POST_NAMES) >= 30 and "board_generate" in POST_NAMES


@pytest.mark.parametrize("name", POST_NAMES)
def test_post_without_csrf_token_is_refused_and_changes_nothing(name, team, world):  # noqa: F811
    case = CASES[name]
    url = _url(name, case, world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    client.get(reverse("project_list"))  # sets the CSRF cookie, as a browser would have it
    token = client.cookies["csrftoken"].value
    before = database_snapshot()
    for extra in ({}, {"csrfmiddlewaretoken": "x" * 64}):
        response = client.post(url, {**dict(case.data), **extra})
        assert response.status_code == 403, f"{name} {extra}: {response.status_code}"
        assert b"CSRF" in response.content, name
    assert database_snapshot() == before, f"{name} changed the database without a token"
    # The same request with the token goes through: the 403 above was the CSRF check.
    response = client.post(url, {**dict(case.data), "csrfmiddlewaretoken": token})
    assert response.status_code != 403, name


def test_htmx_posts_carry_the_token_in_a_header(team, world):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.owner)
    client.get(reverse("project_list"))
    url = reverse("panel_move", args=[world.panel.pk])
    assert client.post(url, {"after": ""}, **HTMX).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(url, {"after": ""}, HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200


# --- 2. ids from forms, query strings and htmx requests ------------------------------------


@pytest.fixture
def board(team):
    return BoardFactory(project=team.project, name="Opening")


@pytest.fixture
def foreign(db):
    """A project none of the team belongs to, with a board of panels, a take and a job."""
    project = ProjectFactory(name="Someone else's")
    board = BoardFactory(project=project)
    panels = [board_services.panel_create(board=board, action=f"theirs {i}") for i in range(2)]
    take = TakeFactory(panel=panels[0])
    job = GenerationJob.objects.create(
        project=project, panel=panels[0], backend="sketch", state=GenerationJob.State.NEEDS_REVIEW
    )
    return project, board, panels, take, job


def add_panels(board, n):
    return [board_services.panel_create(board=board, action=f"beat {i}") for i in range(n)]


def order(board) -> list[int]:
    return list(board.panels.order_by("position").values_list("pk", flat=True))


@pytest.mark.parametrize("headers", [{}, JSON, HTMX], ids=["form", "json", "htmx"])
def test_move_after_a_panel_of_another_project_is_refused(board, foreign, editor_client, headers):
    mine = add_panels(board, 3)
    theirs = foreign[2]
    before = database_snapshot()
    response = editor_client.post(
        reverse("panel_move", args=[mine[2].pk]), {"after": theirs[0].pk}, **headers
    )
    assert response.status_code in (302, 400)
    assert order(board) == [p.pk for p in mine]
    assert order(foreign[1]) == [p.pk for p in theirs]
    snapshot = database_snapshot()
    for rows in (snapshot, before):
        rows.pop("sessions.Session")  # the session holds the flash message
    assert snapshot == before


def test_adding_after_a_panel_of_another_project_is_404_and_adds_nothing(
    board, foreign, editor_client
):
    add_panels(board, 1)
    response = editor_client.post(
        reverse("panel_create", args=[board.pk]), {"after": foreign[2][0].pk}, **HTMX
    )
    assert response.status_code == 404
    assert board.panels.count() == 1 and foreign[1].panels.count() == 2


def test_adding_after_a_panel_of_another_board_is_refused(team, board, editor_client):
    add_panels(board, 1)
    other = add_panels(BoardFactory(project=team.project), 1)[0]
    response = editor_client.post(reverse("panel_create", args=[board.pk]), {"after": other.pk})
    assert response.status_code == 400
    assert board.panels.count() == 1 and other.board.panels.count() == 1


def test_casting_a_sheet_of_another_projects_character_is_refused(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    mara = CharacterFactory(project=team.project)
    stranger_sheet = ReferenceSheetFactory(character=CharacterFactory(project=ProjectFactory()))
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]),
        panel_post(action="changed", cast=[{"character": mara.pk, "sheet": stranger_sheet.pk}]),
    )
    assert response.status_code == 400
    panel.refresh_from_db()
    assert panel.action == "beat 0" and not panel.cast.exists()


def test_casting_another_projects_character_with_its_own_sheet_is_refused(board, editor_client):
    panel = add_panels(board, 1)[0]
    stranger = CharacterFactory(project=ProjectFactory())
    sheet = ReferenceSheetFactory(character=stranger)
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]),
        panel_post(cast=[{"character": stranger.pk, "sheet": sheet.pk}]),
    )
    assert response.status_code == 400 and not CastMember.objects.exists()


def test_the_cast_service_refuses_other_projects_ids_on_its_own(team, board):
    # The form filters choices; the service is the second wall for other callers.
    from django.core.exceptions import ValidationError

    panel = add_panels(board, 1)[0]
    mara = CharacterFactory(project=team.project)
    stranger = CharacterFactory(project=ProjectFactory())
    for entry in (
        board_services.CastEntry(stranger.pk),
        board_services.CastEntry(mara.pk, ReferenceSheetFactory(character=stranger).pk),
    ):
        with pytest.raises(ValidationError):
            board_services.panel_set_cast(panel=panel, entries=[entry])
    with pytest.raises(ValidationError):
        board_services.panel_update(panel=panel, location=LocationFactory(project=ProjectFactory()))
    assert not panel.cast.exists()


def test_selecting_a_take_for_a_panel_of_another_project_is_404(board, foreign, editor_client):
    panel = add_panels(board, 1)[0]
    own = TakeFactory(panel=panel)
    their_panel = foreign[2][0]
    response = editor_client.post(reverse("take_select", args=[own.pk]), {"panel": their_panel.pk})
    assert response.status_code == 404
    their_panel.refresh_from_db()
    assert their_panel.selected_take_id is None


def test_selecting_a_take_of_another_project_is_404(board, foreign, editor_client):
    panel = add_panels(board, 1)[0]
    response = editor_client.post(reverse("take_select", args=[foreign[3].pk]), {"panel": panel.pk})
    assert response.status_code == 404
    panel.refresh_from_db()
    assert panel.selected_take_id is None


def test_selecting_a_take_for_a_panel_of_another_board_is_refused(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    own = TakeFactory(panel=panel)
    elsewhere = add_panels(BoardFactory(project=team.project), 1)[0]
    editor_client.post(reverse("take_select", args=[own.pk]), {"panel": elsewhere.pk})
    elsewhere.refresh_from_db()
    assert elsewhere.selected_take_id is None


@pytest.mark.parametrize("where", ["board", "project"])
def test_generating_a_selection_with_a_foreign_panel_queues_nothing(
    team, board, foreign, editor_client, where
):
    mine = add_panels(board, 2)
    if where == "board":
        stranger = add_panels(BoardFactory(project=team.project), 1)[0]
    else:
        stranger = foreign[2][1]
    response = editor_client.post(
        reverse("board_generate", args=[board.pk]),
        {"selected": "1", "panels": [mine[0].pk, stranger.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not GenerationJob.objects.exclude(pk=foreign[4].pk).exists()
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_generating_a_selection_queues_only_the_selected_panels(board, editor_client):
    mine = add_panels(board, 3)
    editor_client.post(
        reverse("board_generate", args=[board.pk]),
        {"selected": "1", "panels": [mine[0].pk, mine[2].pk]},
    )
    queued = set(GenerationJob.objects.values_list("panel_id", flat=True))
    assert queued == {mine[0].pk, mine[2].pk}


def test_exporting_another_projects_board_is_404_and_queues_nothing(foreign, outsider_client):
    board = foreign[1]
    url = reverse("board_export", args=[board.pk])
    assert outsider_client.get(url).status_code == 404
    response = outsider_client.post(url, {"format": "pdf", "layout": "3x2"})
    assert response.status_code == 404
    assert not Export.objects.exists()


def test_another_projects_export_and_its_file_are_404(team, board, outsider_client):
    from django.core.files.base import ContentFile

    add_panels(board, 1)
    export = Export.objects.create(board=board, requested_by=team.owner, format="pdf")
    export.file.save(f"projects/{team.project.pk}/exports/x.pdf", ContentFile(b"%PDF-1.4"))
    assert outsider_client.get(reverse("export_status", args=[export.pk])).status_code == 404
    assert outsider_client.get(export.file.url).status_code == 404


@pytest.mark.parametrize("action", ["job_cancel", "job_retry", "job_dismiss"])
def test_job_actions_on_another_projects_job_are_404_and_change_nothing(
    foreign, outsider_client, editor_client, action
):
    job = foreign[4]
    before = database_snapshot()
    for client in (editor_client, outsider_client):
        response = client.post(reverse(action, args=[job.pk]), {"next": "/"}, **HTMX)
        assert response.status_code == 404
    assert client.get(reverse("job_status", args=[job.pk])).status_code == 404
    assert database_snapshot() == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
def test_next_after_a_job_action_never_leaves_the_site(team, world, target):  # noqa: F811
    response = team.client("owner").post(
        reverse("job_dismiss", args=[world.job.pk]), {"next": target}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


# --- 3. log-in throttling ------------------------------------------------------------------


def log_in(client: Client, username: str, password: str, address: str = "198.51.100.7", **extra):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_five_failures_lock_the_account_even_with_the_right_password(team):
    client = Client()
    for attempt in range(4):
        response = log_in(client, "owner", f"wrong-{attempt}")
        assert response.status_code == 200 and b"do not match" in response.content
    fifth = log_in(client, "owner", "wrong-4")
    assert fifth.status_code == 429
    response = log_in(Client(), "owner", PASSWORD, address="192.0.2.44")
    body = response.content.decode()
    assert response.status_code == 429
    assert "Too many failed log-ins" in body and "try again in 15 minutes" in body
    assert "do not match" not in body
    assert not logged_in(client)
    # Another account is not affected.
    assert log_in(Client(), "editor", PASSWORD).status_code == 302


def test_the_lock_counts_account_names_in_any_case(team):
    for attempt in range(5):
        log_in(Client(), "OWNER" if attempt % 2 else " Owner ", "wrong")
    assert log_in(Client(), "owner", PASSWORD).status_code == 429


def test_the_lock_lifts_when_the_failures_leave_the_window(team):
    for _ in range(5):
        log_in(Client(), "owner", "wrong")
    earlier = timezone.now() - timedelta(minutes=15, seconds=1)
    # Only the oldest failure leaves the window: four remain, under the limit.
    oldest = LoginFailure.objects.order_by("created").first()
    LoginFailure.objects.filter(pk=oldest.pk).update(created=earlier)
    response = log_in(Client(), "owner", PASSWORD)
    assert response.status_code == 302
    assert not LoginFailure.objects.filter(username="owner").exists()


def test_the_message_counts_the_minutes_left(team):
    for _ in range(5):
        log_in(Client(), "owner", "wrong")
    LoginFailure.objects.update(created=timezone.now() - timedelta(minutes=13, seconds=30))
    body = log_in(Client(), "owner", PASSWORD).content.decode()
    assert "try again in 2 minutes" in body


def test_attempts_during_the_lock_do_not_extend_it(team):
    for _ in range(5):
        log_in(Client(), "owner", "wrong")
    for _ in range(10):
        log_in(Client(), "owner", "wrong")
    assert LoginFailure.objects.count() == 5


def test_twenty_failures_from_one_address_lock_that_address(team):
    for i in range(20):
        log_in(Client(), f"guess{i % 5}", "wrong", address="203.0.113.9")
    response = log_in(Client(), "owner", PASSWORD, address="203.0.113.9")
    assert response.status_code == 429
    assert "your network address" in response.content.decode()
    assert log_in(Client(), "owner", PASSWORD, address="203.0.113.10").status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_address_lock(team):
    for i in range(20):
        log_in(
            Client(),
            f"guess{i}",
            "wrong",
            address="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",
        )
    response = log_in(
        Client(), "owner", PASSWORD, address="203.0.113.9", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_last_forwarded_address_counts(team, settings):
    settings.STUDIO_TRUST_X_FORWARDED_FOR = True
    for i in range(20):
        log_in(
            Client(),
            f"guess{i}",
            "wrong",
            address="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 203.0.113.9",
        )
    locked = log_in(
        Client(), "owner", PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert locked.status_code == 429
    other = log_in(
        Client(), "owner", PASSWORD, address="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10"
    )
    assert other.status_code == 302


def test_the_admin_log_in_is_throttled_too(team):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    for _ in range(5):
        log_in(Client(), "boss", "wrong")
    client = Client()
    client.post(
        reverse("admin:login"), {"username": "boss", "password": PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    assert not logged_in(client)


def test_a_successful_log_in_rotates_the_session_and_clears_the_failures(team):
    for _ in range(3):
        log_in(Client(), "owner", "wrong")
    log_in(Client(), "editor", "wrong")
    client = Client()
    before = client.session.session_key
    response = log_in(client, "owner", PASSWORD)
    assert response.status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert logged_in(client)
    assert not LoginFailure.objects.filter(username="owner").exists()
    assert LoginFailure.objects.filter(username="editor").count() == 1


def test_old_failures_are_pruned(team):
    log_in(Client(), "owner", "wrong")
    LoginFailure.objects.update(created=timezone.now() - timedelta(hours=1))
    log_in(Client(), "viewer", "wrong")
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["viewer"]


@pytest.mark.django_db(transaction=True)
def test_the_lock_is_shared_with_other_processes(team):
    """Another process (a second gunicorn worker) sees failures this one recorded."""
    from django.db import connection

    url = _database_url(connection.settings_dict)
    if url is None:
        pytest.skip(f"no URL for {connection.vendor} test databases")
    for _ in range(5):
        log_in(Client(), "owner", "wrong")
    code = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().post('/login/', {'username': 'owner', 'password': 'pass-word-123'}, "
        "REMOTE_ADDR='192.0.2.99'); print(r.status_code)"
    )
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "429"


def _database_url(db: dict) -> str | None:
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    if db["ENGINE"].endswith("postgresql"):
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
    return None


# --- 4. deployment ---------------------------------------------------------------------------

_PRODUCTION_NAMES = [
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "MIDDLEWARE",
]


@pytest.fixture(scope="module")
def production_values() -> dict:
    """The security settings studio/settings.py computes with debug off, read in a fresh process."""
    code = (
        "import json, studio.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {_PRODUCTION_NAMES!r}}}))"
    )
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "production-like-" + "q7" * 30,
        "DJANGO_ALLOWED_HOSTS": "boards.example.com",
    }
    for name in ("DJANGO_SECURE_SSL_REDIRECT", "DJANGO_HSTS_SECONDS", "DJANGO_BEHIND_TLS_PROXY"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def production(settings, production_values):
    for name, value in production_values.items():
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = ["boards.example.com"]
    return Client(HTTP_HOST="boards.example.com")


def test_an_unknown_host_header_gets_400(db):
    assert Client().get(reverse("login"), HTTP_HOST="evil.example").status_code == 400


def test_an_unknown_host_gets_400_in_production(production):
    response = production.get(reverse("login"), HTTP_HOST="evil.example", secure=True)
    assert response.status_code == 400


def test_production_sends_plain_http_to_https(production):
    response = production.get(reverse("login"))
    assert response.status_code == 301
    assert response["Location"] == "https://boards.example.com/login/"


def test_production_https_responses_carry_hsts_and_the_security_headers(production):
    response = production.get(reverse("login"), secure=True)
    assert response.status_code == 200
    hsts = [part.strip() for part in response["Strict-Transport-Security"].split(";")]
    assert hsts[0] == "max-age=31536000" and "includeSubDomains" in hsts and "preload" in hsts
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def content_security_policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("page", ["login", "project_list", "missing"])
def test_every_page_has_a_strict_content_security_policy(production, team, page):
    production.force_login(team.owner)
    url = "/no-such-page/" if page == "missing" else reverse(page)
    response = production.get(url, secure=True)
    csp = content_security_policy(response)
    for directive in ("default-src", "script-src", "style-src"):
        assert csp[directive] == ["'self'"], (directive, csp.get(directive))
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"]
    flat = response["Content-Security-Policy"]
    assert "unsafe-inline" not in flat and "unsafe-eval" not in flat and "*" not in flat


def test_production_cookies_are_secure_and_http_only(production, team):
    production.get(reverse("login"), secure=True)
    csrf = production.cookies["csrftoken"]
    assert csrf["secure"]
    response = production.post(
        reverse("login"),
        {"username": "owner", "password": PASSWORD, "csrfmiddlewaretoken": csrf.value},
        secure=True,
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
