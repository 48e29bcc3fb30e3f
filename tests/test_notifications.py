"""The inbox, notification email (right away, digest, off), unsubscribe links, and the two hooks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio import notifications
from studio.models import Notification, User
from studio.notifications import notify
from tests.factories import UserFactory


def say(team, committed, *, to, text="Ana commented on panel 3", url="/boards/1/", actor=None):
    return committed(
        notify,
        recipients=to,
        kind="comment",
        project=team.project,
        text=text,
        url=url,
        actor=actor,
    )


def test_notify_skips_the_actor_and_people_outside_the_project(team, committed, outbox):
    stranger = UserFactory(username="stranger")
    count = say(
        team, committed, to=[team.owner, team.editor, team.outsider, stranger], actor=team.owner
    )
    assert count == 1
    assert list(Notification.objects.values_list("recipient__username", flat=True)) == ["editor"]
    assert [m.to for m in outbox] == [["editor@example.com"]]


def test_notify_refuses_links_that_leave_the_studio(team):
    for url in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", "boards/1"):
        with pytest.raises(ValueError, match="stay inside the studio"):
            notify(
                recipients=[team.editor], kind="comment", project=team.project, text="x", url=url
            )
    assert not Notification.objects.exists()


def test_the_top_bar_shows_the_unread_count_at_no_extra_query(
    team, committed, outbox, django_assert_num_queries
):
    client = team.client("editor")
    client.get(reverse("project_list"))  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        page = client.get(reverse("project_list")).content.decode()
    assert 'aria-label="2 unread"' not in page
    say(team, committed, to=[team.editor])
    say(team, committed, to=[team.editor], text="Bo replied")
    with django_assert_num_queries(len(before)):
        page = client.get(reverse("project_list")).content.decode()
    assert 'aria-label="2 unread"' in page


def test_opening_a_notification_marks_it_read_and_goes_to_its_spot(team, committed, outbox):
    say(team, committed, to=[team.editor], url="/boards/7/#panel-3")
    note = Notification.objects.get()
    client = team.client("editor")
    inbox = client.get(reverse("inbox")).content.decode()
    assert "Ana commented on panel 3" in inbox and "Harbour Lights" in inbox
    response = client.get(reverse("notification_open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == "/boards/7/#panel-3"
    note.refresh_from_db()
    assert note.read is not None
    assert User.objects.get(pk=team.editor.pk).unread_count == 0


def test_mark_one_and_mark_all_read(team, committed, outbox):
    for i in range(3):
        say(team, committed, to=[team.editor], text=f"note {i}")
    client = team.client("editor")
    first = Notification.objects.order_by("id").first()
    client.post(reverse("notification_read", args=[first.pk]))
    assert User.objects.get(pk=team.editor.pk).unread_count == 2
    client.post(reverse("notifications_read_all"))
    assert User.objects.get(pk=team.editor.pk).unread_count == 0
    assert not Notification.objects.filter(read__isnull=True).exists()
    assert "Mark all read" not in client.get(reverse("inbox")).content.decode()


def test_someone_elses_notification_is_404(team, committed, outbox):
    say(team, committed, to=[team.editor])
    note = Notification.objects.get()
    for who in ("owner", "viewer", "outsider"):
        client = team.client(who)
        assert client.get(reverse("notification_open", args=[note.pk])).status_code == 404
        assert client.post(reverse("notification_read", args=[note.pk])).status_code == 404
        assert "Ana commented" not in client.get(reverse("inbox")).content.decode()
    note.refresh_from_db()
    assert note.read is None


def test_an_empty_inbox_says_what_will_arrive(team):
    page = team.client("viewer").get(reverse("inbox")).content.decode()
    assert "Nothing here yet" in page


def unsubscribe_path(message) -> str:
    found = re.search(r"http://127\.0\.0\.1:8000(/unsubscribe/\S+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_every_notification_mail_has_a_one_click_unsubscribe_without_login(team, committed, outbox):
    say(team, committed, to=[team.editor])
    message = outbox[0]
    path = unsubscribe_path(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000{path}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    visitor = Client(enforce_csrf_checks=True)
    # Opening the link asks (mail scanners open links); it changes nothing yet.
    assert "Stop notification emails?" in visitor.get(path).content.decode()
    assert User.objects.get(pk=team.editor.pk).notify_email == "immediately"
    # The mail program's one-click POST, without a session or CSRF token.
    response = visitor.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and "You are unsubscribed" in response.content.decode()
    assert User.objects.get(pk=team.editor.pk).notify_email == "off"
    say(team, committed, to=[team.editor], text="after unsubscribing")
    assert len(outbox) == 1
    assert Notification.objects.filter(recipient=team.editor).count() == 2  # the inbox keeps all


def test_a_forged_unsubscribe_token_is_404(team):
    forged = signing.dumps({"u": team.editor.pk}, salt="some other purpose")
    for token in (forged, "nonsense", forged[:-2] + "xx"):
        assert Client().post(reverse("unsubscribe", args=[token])).status_code == 404
    assert User.objects.get(pk=team.editor.pk).notify_email == "immediately"


def test_digest_readers_get_one_mail_with_everything_unread_and_never_twice(
    team, committed, outbox
):
    User.objects.filter(pk=team.editor.pk).update(notify_email="digest")
    say(team, committed, to=[team.editor], text="first")
    say(team, committed, to=[team.editor], text="second")
    say(team, committed, to=[team.editor], text="already read")
    Notification.objects.filter(text="already read").update(read=timezone.now())
    assert outbox == []
    assert committed(notifications.digests_send) == 1
    assert len(outbox) == 1
    body = outbox[0].body
    assert "first" in body and "second" in body and "already read" not in body
    assert outbox[0].subject == "2 new notifications in Castboard"
    assert committed(notifications.digests_send) == 0 and len(outbox) == 1


def test_the_digest_leaves_out_lines_older_than_two_days(team, committed, outbox):
    User.objects.filter(pk=team.editor.pk).update(notify_email="digest")
    say(team, committed, to=[team.editor], text="old news")
    Notification.objects.update(created=timezone.now() - timedelta(days=3))
    assert committed(notifications.digests_send) == 0 and outbox == []


def test_off_means_the_inbox_only(team, committed, outbox):
    User.objects.filter(pk=team.editor.pk).update(notify_email="off")
    say(team, committed, to=[team.editor])
    committed(notifications.digests_send)
    assert outbox == [] and Notification.objects.count() == 1


def test_the_account_page_changes_the_email_setting(team):
    client = team.client("viewer")
    page = client.get(reverse("account")).content.decode()
    assert "Once a day, in one digest" in page and "Change password" in page
    client.post(reverse("account"), {"notify_email": "digest"})
    assert User.objects.get(pk=team.viewer.pk).notify_email == "digest"
    response = client.post(reverse("account"), {"notify_email": "hourly"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert User.objects.get(pk=team.viewer.pk).notify_email == "digest"


def test_a_finished_export_tells_who_asked_for_it(team, outbox):
    from boards import export_services
    from boards.models import Export
    from tests.factories import BoardFactory, PanelFactory, TakeFactory

    board = BoardFactory(project=team.project, name="Scene 4")
    panel = PanelFactory(board=board, position=0)
    panel.selected_take = TakeFactory(panel=panel)
    panel.save()
    export = Export.objects.create(
        board=board, requested_by=team.viewer, format="zip", options={"layout": "3x2"}
    )
    assert export_services.export_run(export.pk).state == Export.State.DONE
    note = Notification.objects.get(recipient=team.viewer)
    assert note.kind == "export_ready" and "Scene 4" in note.text
    assert note.url == reverse("export_status", args=[export.pk])
    assert Notification.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_generation_tells_who_asked_for_it(team, driver, settings, outbox):
    from boards.models import Panel
    from tests.fakes.bfl_server import FakeBFL, FakeConfig
    from tests.generation import make_board, use_fake_bfl
    from workers.services import jobs_request

    with FakeBFL(FakeConfig(latency_s=0.05, moderate="request")) as fake:
        use_fake_bfl(settings, fake)
        board = make_board(team.project, panels=1)
        panels = list(Panel.objects.filter(board=board).select_related("board__project"))
        jobs_request(panels=panels, user=team.editor, backend="bfl")
        driver.run()
    note = Notification.objects.get()
    assert (note.recipient, note.kind) == (team.editor, "generation_failed")
    assert note.text.startswith(f"Panel 1 of “{board.name}” could not be generated: ")
    assert note.url == reverse("panel_edit", args=[panels[0].pk])
    assert [m.to for m in outbox] == [["editor@example.com"]]


def test_the_inbox_page_puts_the_count_right_after_a_project_is_deleted(team, committed, outbox):
    say(team, committed, to=[team.editor])
    team.project.delete()
    client = team.client("editor")
    page = client.get(reverse("inbox")).content.decode()
    assert "Nothing here yet" in page and "unread" not in page
    assert User.objects.get(pk=team.editor.pk).unread_count == 0


def test_beat_runs_the_digest_task_every_day():
    from celery.schedules import crontab

    from studio.celery import app

    entry = app.conf.beat_schedule["notification-digests"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].hour == {7}
