"""Every URL, walked from the URLconf, against an owner, an editor, a viewer and an outsider.

A URL without a case below fails `test_every_url_has_an_access_case`, so a
new view cannot ship without saying who may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from boards.models import ScriptImport
from studio import services
from studio.access import Need
from studio.models import Membership
from tests.factories import (
    BoardFactory,
    CastMemberFactory,
    CharacterFactory,
    LocationFactory,
    MembershipFactory,
    PanelFactory,
    ReferenceImageFactory,
    ReferenceSheetFactory,
    TakeFactory,
    UserFactory,
    png_bytes,
)

READ, REVIEW, WRITE, MANAGE = Need.READ, Need.REVIEW, Need.WRITE, Need.MANAGE


@dataclass(frozen=True)
class Case:
    obj: str  # attribute of the world whose pk the URL takes ("" for project_id URLs: project)
    checks: tuple[tuple[str, Need], ...]
    kwarg: str = "pk"
    data: tuple[tuple[str, str], ...] = ()


def c(obj, *checks, kwarg="pk", **data):
    return Case(obj, tuple(checks), kwarg, tuple(data.items()))


# URLs that need only a logged-in user (no project object in them).
NO_OBJECT = {"project_list", "project_create"}
# Authentication pages and the admin are Django's own and open by design; an
# invitation link and an unsubscribe link carry their own token instead of a
# session (tests/test_accounts.py proves a bad token gets nothing). The operator's
# probes hold no project data (/metrics has its own token, tests/test_ops.py).
PUBLIC = {
    "login",
    "logout",
    "signup",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "invitation_open",
    "unsubscribe",
    "healthz",
    "metrics",
}
# The person's own pages: rows are looked up with the person in the filter, so
# someone else's row is a 404 (tests/test_accounts.py walks these for everyone).
PERSONAL = {
    "account",
    "password_change",
    "password_change_done",
    "inbox",
    "notifications_read_all",
    "notification_open",
    "notification_read",
    "invitations",
    "invitation_accept",
    "invitation_decline",
}
# Provider webhooks: no session, the sender proves itself with a shared secret.
PUBLIC |= {"provider_webhook"}
# Guest review pages open with a link's token, not a membership: tests/test_guest_review.py
# walks every URL as a guest and covers these.
GUEST = {"guest_board", "guest_comment", "guest_status", "guest_take", "guest_live", "guest_play"}

CASES: dict[str, Case] = {
    "project_detail": c("project", ("GET", READ)),
    "project_settings": c("project", ("GET", MANAGE), ("POST", MANAGE)),
    "project_members": c("project", ("GET", READ), ("POST", MANAGE)),
    "invitation_resend": c("invitation", ("POST", MANAGE)),
    "invitation_withdraw": c("invitation", ("POST", MANAGE)),
    "membership_role": c("other_membership", ("POST", MANAGE), role="editor"),
    "membership_remove": c("other_membership", ("POST", MANAGE)),
    "media": c("media_name", ("GET", READ), kwarg="name"),
    "character_create": c("project", ("GET", WRITE), ("POST", WRITE), kwarg="project_id"),
    "character_detail": c("character", ("GET", READ)),
    "character_edit": c("character", ("GET", WRITE), ("POST", WRITE)),
    "character_delete": c("character", ("POST", WRITE)),
    "sheet_create": c("character", ("GET", WRITE), ("POST", WRITE)),
    "sheet_edit": c("sheet", ("GET", WRITE), ("POST", WRITE)),
    "sheet_set_default": c("sheet", ("POST", WRITE)),
    "sheet_delete": c("sheet", ("POST", WRITE)),
    "sheet_upload": c("sheet", ("POST", WRITE)),
    "reference_image_edit": c("reference_image", ("POST", WRITE), view="face"),
    "reference_image_set_primary": c("reference_image", ("POST", WRITE)),
    "reference_image_delete": c("reference_image", ("POST", WRITE)),
    "location_create": c("project", ("GET", WRITE), ("POST", WRITE), kwarg="project_id"),
    "location_detail": c("location", ("GET", READ)),
    "location_edit": c("location", ("GET", WRITE), ("POST", WRITE)),
    "location_delete": c("location", ("POST", WRITE)),
    "location_upload": c("location", ("POST", WRITE)),
    "location_image_delete": c("location_image", ("POST", WRITE)),
    "style_detail": c("project", ("GET", READ), ("POST", WRITE), kwarg="project_id"),
    "style_upload": c("project", ("POST", WRITE), kwarg="project_id"),
    "style_image_delete": c("style_image", ("POST", WRITE)),
    "board_create": c("project", ("GET", WRITE), ("POST", WRITE), kwarg="project_id"),
    "board_detail": c("board", ("GET", READ)),
    "board_edit": c("board", ("GET", WRITE), ("POST", WRITE)),
    "board_delete": c("board", ("POST", WRITE)),
    "panel_create": c("board", ("POST", WRITE)),
    "panel_edit": c("panel", ("GET", READ), ("POST", WRITE)),
    "panel_inline": c("panel", ("GET", WRITE), ("POST", WRITE)),
    "panel_delete": c("panel", ("POST", WRITE)),
    "panel_move": c("panel", ("POST", WRITE), after=""),
    "panel_crop": c("panel", ("POST", WRITE), focus="0,0"),
    "take_upload": c("panel", ("POST", WRITE)),
    "take_select": c("take", ("POST", WRITE)),
    "panel_generate": c("panel", ("POST", WRITE)),
    "board_generate": c("board", ("POST", WRITE)),
    "board_progress": c("board", ("GET", READ)),
    "job_status": c("job", ("GET", READ)),
    "job_cancel": c("job", ("POST", WRITE)),
    "job_retry": c("job", ("POST", WRITE)),
    "job_dismiss": c("job", ("POST", WRITE)),
    "take_edit": c("take", ("POST", WRITE), instruction="mirror"),
    "take_region": c("take", ("GET", WRITE)),
    "take_region_edit": c("take", ("POST", WRITE), instruction="mirror"),
    "board_export": c("board", ("GET", READ), ("POST", READ), format="pdf", layout="3x2"),
    "export_status": c("export", ("GET", READ)),
    # The world's export was asked for by the owner: a viewer may cancel only their own.
    "export_cancel": c("export", ("POST", WRITE)),
    "board_play": c("board", ("GET", READ)),
    "panel_duration": c("panel", ("POST", WRITE), duration="3"),
    "script_import": c("project", ("GET", WRITE), ("POST", WRITE), kwarg="project_id"),
    "script_preview": c("project", ("GET", WRITE), ("POST", WRITE), kwarg="project_id"),
    # Only editors import, so only they follow an import's progress.
    "script_import_status": c("script_import", ("GET", WRITE)),
    "panel_script_seen": c("panel", ("POST", WRITE)),
    "comment_create": c("board", ("POST", READ), body="Looks good"),
    # Anyone who reads comments; the world's comment is the owner's, and only its author
    # edits it, the author or an owner deletes it, the author or a reviewer and up resolves
    # it: so these rows read like role levels (test_review_comments.py covers authors).
    "comment_edit": c("comment", ("POST", MANAGE), body="Looks better"),
    "comment_delete": c("comment", ("POST", MANAGE)),
    "comment_resolve": c("comment", ("POST", REVIEW)),
    "mention_search": c("project", ("GET", READ), kwarg="project_id"),
    "panel_status": c("panel", ("POST", REVIEW), status="approved"),
    "board_send_for_review": c("board", ("POST", WRITE)),
    "board_review_live": c("board", ("GET", READ)),
    "board_notes": c("board", ("GET", READ)),
    "board_links": c("board", ("GET", WRITE), ("POST", WRITE), allow_comments="on"),
    "link_revoke": c("link", ("POST", WRITE)),
    "board_activity": c("board", ("GET", READ)),
}


def url_names() -> list[str]:
    def walk(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace != "admin":
                    yield from walk(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                yield p.name

    return sorted(set(walk(get_resolver().url_patterns)))


def test_every_url_has_an_access_case():
    missing = [
        n for n in url_names() if n not in CASES and n not in NO_OBJECT | PUBLIC | PERSONAL | GUEST
    ]
    assert missing == [], f"URLs without an owner/editor/viewer/outsider case: {missing}"
    stale = [n for n in CASES if n not in url_names()]
    assert stale == [], f"cases for URLs that no longer exist: {stale}"


@pytest.fixture
def world(team):
    from django.core.files.base import ContentFile

    from characters.models import LocationImage, StyleImage
    from workers.models import GenerationJob

    project = team.project
    character = CharacterFactory(project=project)
    sheet = ReferenceSheetFactory(character=character, name="Default", is_default=True)
    reference_image = ReferenceImageFactory(sheet=sheet)
    location = LocationFactory(project=project)
    location_image = LocationImage.objects.create(
        location=location,
        file=ContentFile(png_bytes(), name=f"projects/{project.pk}/locations/l.png"),
        thumbnail=ContentFile(png_bytes(), name=f"projects/{project.pk}/locations/lt.png"),
        sha256="a" * 64,
        width=64,
        height=48,
    )
    style_image = StyleImage.objects.create(
        project=project,
        file=ContentFile(png_bytes(), name=f"projects/{project.pk}/style/s.png"),
        thumbnail=ContentFile(png_bytes(), name=f"projects/{project.pk}/style/st.png"),
        sha256="b" * 64,
        width=64,
        height=48,
    )
    board = BoardFactory(project=project)
    panel = PanelFactory(board=board, position=0)
    PanelFactory(board=board, position=1)
    CastMemberFactory(panel=panel, character=character)
    take = TakeFactory(panel=panel)
    job = GenerationJob.objects.create(
        project=project, panel=panel, backend="sketch", state=GenerationJob.State.NEEDS_REVIEW
    )
    extra = UserFactory(username="extra")
    other_membership = MembershipFactory(project=project, user=extra, role=Membership.Role.VIEWER)
    export = _export_for(board, team.owner)
    script_import = ScriptImport.objects.create(
        project=project, requested_by=team.owner, file_name="a.fountain", path="gone.script"
    )
    invitation = services.invitation_create(
        project=project, identifier="someone@example.com", role="viewer", invited_by=team.owner
    )

    from reviews.services import comment_create, link_create

    comment = comment_create(board=board, panel=panel, author=team.owner, body="Too dark?")
    link, _ = link_create(board=board, user=team.owner)
    return SimpleNamespace(
        comment=comment,
        link=link,
        project=project,
        character=character,
        sheet=sheet,
        reference_image=reference_image,
        location=location,
        location_image=location_image,
        style_image=style_image,
        board=board,
        panel=panel,
        take=take,
        job=job,
        other_membership=other_membership,
        media_name=SimpleNamespace(pk=take.file.name),
        export=export,
        invitation=invitation,
        script_import=script_import,
    )


def _export_for(board, user):
    try:
        from boards.models import Export
    except ImportError:
        return None
    return Export.objects.create(board=board, requested_by=user, format="pdf")


def _url(name: str, case: Case, world) -> str:
    obj = getattr(world, case.obj)
    if obj is None:
        pytest.skip(f"{name}: its object type does not exist yet")
    return reverse(name, kwargs={case.kwarg: obj.pk})


def _call(client: Client, method: str, url: str, case: Case):
    if method == "GET":
        return client.get(url)
    return client.post(url, dict(case.data))


ROLE_LEVEL = {"viewer": READ, "reviewer": REVIEW, "editor": WRITE, "owner": MANAGE}
ROLES = ("viewer", "reviewer", "editor", "owner")  # weakest first


@pytest.mark.parametrize("name", sorted(CASES))
def test_outsider_gets_404_and_roles_get_what_they_may(name, team, world):
    case = CASES[name]
    url = _url(name, case, world)
    for method, need in case.checks:
        response = _call(team.client("outsider"), method, url, case)
        assert response.status_code == 404, f"outsider {method} {name}: {response.status_code}"
        # Refused roles first: an allowed write may delete the object.
        for role in ROLES:
            if ROLE_LEVEL[role] < need:
                response = _call(team.client(role), method, url, case)
                assert response.status_code == 403, (
                    f"{role} {method} {name}: {response.status_code}"
                )
        for role in ROLES:
            if ROLE_LEVEL[role] >= need:
                response = _call(team.client(role), method, url, case)
                assert response.status_code not in (403, 404, 405, 500), (
                    f"{role} {method} {name}: {response.status_code}"
                )
                break  # one allowed call is enough; a second could hit a deleted object


@pytest.mark.parametrize("name", sorted(CASES) + sorted(NO_OBJECT) + sorted(PERSONAL))
def test_anonymous_is_sent_to_log_in(name, world):
    case = CASES.get(name)
    if name in PERSONAL:
        try:
            url = reverse(name)
        except NoReverseMatch:  # takes an id: any id, the log-in comes first
            url = reverse(name, kwargs={"pk": 1})
        method = "POST" if name.endswith(("_all", "_read", "_accept", "_decline")) else "GET"
        response = _call(Client(), method, url, Case("", ()))
        assert response.status_code == 302 and "/login/" in response["Location"], name
        return
    url = _url(name, case, world) if case else reverse(name)
    method = case.checks[0][0] if case else "GET"
    response = _call(Client(), method, url, case or Case("", ()))
    assert response.status_code == 302 and "/login/" in response["Location"], name


def test_the_last_owner_cannot_leave_or_step_down(team):
    owner_row = Membership.objects.get(project=team.project, user=team.owner)
    client = team.client("owner")
    client.post(reverse("membership_remove", args=[owner_row.pk]))
    assert Membership.objects.filter(pk=owner_row.pk).exists()
    client.post(reverse("membership_role", args=[owner_row.pk]), {"role": "editor"})
    owner_row.refresh_from_db()
    assert owner_row.role == "owner"


def test_a_member_may_leave_and_an_editor_cannot_manage_members(team):
    editor_row = Membership.objects.get(project=team.project, user=team.editor)
    viewer_row = Membership.objects.get(project=team.project, user=team.viewer)
    editor = team.client("editor")
    assert editor.post(reverse("membership_remove", args=[viewer_row.pk])).status_code == 403
    assert (
        editor.post(reverse("membership_role", args=[viewer_row.pk]), {"role": "owner"}).status_code
        == 403
    )
    response = editor.post(reverse("membership_remove", args=[editor_row.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=editor_row.pk).exists()


def test_owner_changes_roles_including_reviewer(team):
    row = Membership.objects.get(project=team.project, user=team.viewer)
    client = team.client("owner")
    client.post(reverse("membership_role", args=[row.pk]), {"role": "reviewer"})
    row.refresh_from_db()
    assert row.role == "reviewer"


@pytest.mark.parametrize("pk", ["0", str(2**63 - 1), str(2**63), "9" * 30])
def test_ids_no_row_can_have_answer_404_not_an_error(team, pk):
    from tests.factories import BoardFactory

    client = team.client("owner")
    board = BoardFactory(project=team.project)
    for path in (
        f"/boards/{board.pk}/",
        f"/boards/{board.pk}/progress/",
        f"/project/{board.project_id}/",
    ):
        assert client.get(path).status_code == 200, path  # the same paths with real ids
    for path in (f"/boards/{pk}/", f"/boards/{pk}/progress/", f"/project/{pk}/"):
        assert client.get(path).status_code == 404, path
