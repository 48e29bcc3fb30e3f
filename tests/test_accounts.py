"""Invitations (consent before membership, nothing leaked), passwords, sign-up and mail settings."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from studio import services
from studio.env import email_settings
from studio.mail import mail_send
from studio.models import Invitation, LoginFailure, Membership, User
from tests.factories import UserFactory

LINK = re.compile(r"http://[^\s]+/invite/[^\s/]+/")


def members_url(team) -> str:
    return reverse("project_members", args=[team.project.pk])


def invite(team, committed, identifier: str, role: str = "editor"):
    return committed(
        team.client("owner").post,
        members_url(team),
        {"identifier": identifier, "role": role},
        follow=True,
    )


def link_in(message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(0).removeprefix("http://testserver").split("8000", 1)[-1]


# --- issue: nobody is added, or learned about, without their consent ----------------------


def test_inviting_answers_the_same_whether_the_account_exists_or_not(team, committed, outbox):
    UserFactory(username="newcomer", email="private.address@example.org")
    answers = {}
    for identifier in (
        "newcomer",
        "nobody-here",
        "private.address@example.org",
        "ghost@example.org",
    ):
        response = invite(team, committed, identifier)
        page = response.content.decode()
        messages = [m.message.replace(identifier, "X") for m in response.context["messages"]]
        answers[identifier] = (response.status_code, response.redirect_chain, messages)
        if identifier == "newcomer":
            # Invited by username: the account's address is shown nowhere.
            assert "private.address" not in page
    assert len(set(map(repr, answers.values()))) == 1, answers
    assert not Membership.objects.filter(project=team.project, user__username="newcomer").exists()
    page = team.client("owner").get(members_url(team)).content.decode()
    assert "newcomer" in page  # as the owner typed it, in the invitations list


def test_nobody_joins_a_project_until_they_accept_in_their_list(team, committed, outbox):
    invite(team, committed, "outsider", role="viewer")
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()
    outsider = team.client("outsider")
    assert outsider.get(reverse("project_detail", args=[team.project.pk])).status_code == 404
    listing = outsider.get(reverse("invitations")).content.decode()
    assert "Harbour Lights" in listing
    invitation = Invitation.objects.get(identifier="outsider")
    response = committed(outsider.post, reverse("invitation_accept", args=[invitation.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("project_detail", args=[team.project.pk])
    assert Membership.objects.get(project=team.project, user=team.outsider).role == "viewer"
    # The inviter hears about it; the invitation's inbox line is read now.
    assert team.owner.notifications.filter(kind="invitation_accepted").exists()
    assert not team.outsider.notifications.filter(kind="invitation", read__isnull=True).exists()


def test_a_declined_invitation_adds_nobody_and_shows_only_declined(team, committed, outbox):
    invite(team, committed, "outsider")
    invitation = Invitation.objects.get(identifier="outsider")
    team.client("outsider").post(reverse("invitation_decline", args=[invitation.pk]))
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()
    page = team.client("owner").get(members_url(team)).content.decode()
    assert "Declined" in page
    assert (
        team.client("outsider").post(reverse("invitation_accept", args=[invitation.pk])).status_code
        == 404
    )


def test_only_the_invited_account_sees_or_answers_an_invitation(team, committed, outbox):
    invite(team, committed, "outsider")
    invitation = Invitation.objects.get(identifier="outsider")
    for who in ("viewer", "editor", "owner"):
        client = team.client(who)
        assert "Harbour Lights" not in client.get(reverse("invitations")).content.decode()
        for name in ("invitation_accept", "invitation_decline"):
            assert client.post(reverse(name, args=[invitation.pk])).status_code == 404
    assert Invitation.objects.get(pk=invitation.pk).state == "pending"


def test_the_mailed_link_lets_a_new_person_choose_a_name_and_password(team, committed, outbox):
    invite(team, committed, "ana@example.org", role="reviewer")
    assert len(outbox) == 1 and outbox[0].to == ["ana@example.org"]
    assert "http://127.0.0.1:8000/invite/" in outbox[0].body  # STUDIO_PUBLIC_URL
    link = link_in(outbox[0])
    visitor = Client()
    page = visitor.get(link).content.decode()
    assert "Harbour Lights" in page and "Create account and join" in page
    response = committed(
        visitor.post,
        link,
        {
            "username": "ana",
            "first_name": "Ana Lima",
            "password1": "tide-pool-ferry-88",
            "password2": "tide-pool-ferry-88",
        },
    )
    assert response.status_code == 302
    ana = User.objects.get(username="ana")
    assert ana.email == "ana@example.org" and ana.first_name == "Ana Lima"
    assert Membership.objects.get(project=team.project, user=ana).role == "reviewer"
    assert visitor.get(response["Location"]).status_code == 200  # logged in, in the project
    # The link worked once.
    assert Client().get(link).status_code == 404


def test_a_bad_password_on_the_invitation_page_keeps_the_invitation(team, committed, outbox):
    invite(team, committed, "ana@example.org")
    link = link_in(outbox[0])
    response = Client().post(
        link, {"username": "ana", "first_name": "", "password1": "short", "password2": "short"}
    )
    assert response.status_code == 200 and "too short" in response.content.decode()
    assert not User.objects.filter(username="ana").exists()
    assert Invitation.objects.get(identifier="ana@example.org").state == "pending"


def test_an_invited_account_must_log_in_as_itself_to_accept_by_link(team, committed, outbox):
    invite(team, committed, "outsider")  # by username: mailed to the account's own address
    assert outbox[0].to == ["outsider@example.com"]
    link = link_in(outbox[0])
    assert "Log in to accept" in Client().get(link).content.decode()
    as_viewer = team.client("viewer")
    assert "for another account" in as_viewer.get(link).content.decode()
    as_viewer.post(link, {"answer": "accept"})
    assert Invitation.objects.get(identifier="outsider").state == "pending"
    response = committed(team.client("outsider").post, link, {"answer": "accept"})
    assert response.status_code == 302
    assert Membership.objects.filter(project=team.project, user=team.outsider).exists()


def test_an_expired_invitation_stops_working_and_can_be_sent_again(team, committed, outbox):
    invite(team, committed, "outsider")
    invitation = Invitation.objects.get(identifier="outsider")
    Invitation.objects.filter(pk=invitation.pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    outsider = team.client("outsider")
    assert outsider.get(link_in(outbox[0])).status_code == 404
    assert "Harbour Lights" not in outsider.get(reverse("invitations")).content.decode()
    assert outsider.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404
    assert "Expired" in team.client("owner").get(members_url(team)).content.decode()
    committed(team.client("owner").post, reverse("invitation_resend", args=[invitation.pk]))
    assert len(outbox) == 2
    assert outsider.get(link_in(outbox[0])).status_code == 404  # the old link stays dead
    assert outsider.get(link_in(outbox[1])).status_code == 200
    invitation.refresh_from_db()
    days = (invitation.expires - timezone.now()).total_seconds() / 86400
    assert 6.9 < days <= 7


def test_a_withdrawn_invitation_cannot_be_accepted(team, committed, outbox):
    invite(team, committed, "outsider")
    invitation = Invitation.objects.get(identifier="outsider")
    team.client("owner").post(reverse("invitation_withdraw", args=[invitation.pk]))
    outsider = team.client("outsider")
    assert outsider.get(link_in(outbox[0])).status_code == 404
    assert outsider.post(reverse("invitation_accept", args=[invitation.pk])).status_code == 404
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()
    assert "outsider" not in team.client("owner").get(members_url(team)).content.decode()


def test_inviting_the_same_name_twice_sends_the_one_invitation_again(team, committed, outbox):
    invite(team, committed, "ghost@example.org")
    invite(team, committed, "GHOST@example.org", role="viewer")
    invitation = Invitation.objects.get(project=team.project)
    assert invitation.role == "viewer" and len(outbox) == 2


def test_a_typo_in_an_email_address_is_explained(team, committed, outbox):
    response = invite(team, committed, "ana@@example")
    assert "is not an email address" in response.content.decode()
    assert not Invitation.objects.exists() and outbox == []


def test_invitation_tokens_are_stored_hashed(team, committed, outbox):
    invite(team, committed, "ghost@example.org")
    token = link_in(outbox[0]).rstrip("/").rsplit("/", 1)[-1]
    assert len(token) >= 40
    assert not Invitation.objects.filter(token_hash__contains=token).exists()


# --- passwords and sign-up ------------------------------------------------------------------


def test_password_reset_is_mailed_after_commit_and_its_link_sets_a_new_password(
    team, committed, outbox
):
    response = committed(Client().post, reverse("password_reset"), {"email": "viewer@example.com"})
    assert response.status_code == 302
    assert len(outbox) == 1 and outbox[0].to == ["viewer@example.com"]
    link = re.search(r"http://127\.0\.0\.1:8000(/password-reset/\S+/)", outbox[0].body).group(1)
    visitor = Client()
    form_page = visitor.get(link, follow=True)
    new = "lantern-harbour-57"
    visitor.post(form_page.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert Client().login(username="viewer", password=new)


def test_password_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(
    team, committed, outbox
):
    known = committed(Client().post, reverse("password_reset"), {"email": "viewer@example.com"})
    unknown = committed(Client().post, reverse("password_reset"), {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.to for m in outbox] == [["viewer@example.com"]]


def _alert(response) -> str:
    return re.search(r'role="alert">([^<]+)<', response.content.decode()).group(1)


def _reset(committed, email: str, address: str = "10.0.0.1"):
    return committed(Client(REMOTE_ADDR=address).post, reverse("password_reset"), {"email": email})


def test_password_reset_mail_is_throttled_per_email_the_same_for_unknown_ones(
    settings, team, committed, outbox
):
    settings.STUDIO_RESET_MAX_EMAIL = 2
    settings.STUDIO_RESET_MAX_ADDRESS = 100
    known = [_reset(committed, "Viewer@example.com ", f"10.0.0.{i}") for i in range(3)]
    unknown = [_reset(committed, "nobody@example.com", f"10.0.1.{i}") for i in range(3)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [302, 302, 429]
    # Two mails, not three, even from three addresses and however the address is typed.
    assert [m.to for m in outbox] == [["viewer@example.com"]] * 2
    pause = _alert(known[-1])
    assert pause == _alert(unknown[-1])  # the same words whether the account exists or not
    assert pause.startswith("Too many password reset requests for this email address.")
    assert "try again in 60 minutes" in pause
    # Another email still gets its mail.
    assert _reset(committed, "editor@example.com").status_code == 302
    assert [m.to for m in outbox][-1] == ["editor@example.com"]


def test_password_reset_mail_is_throttled_per_caller_address(settings, team, committed, outbox):
    settings.STUDIO_RESET_MAX_EMAIL = 100
    settings.STUDIO_RESET_MAX_ADDRESS = 3
    emails = ["viewer@example.com", "a@example.com", "b@example.com", "editor@example.com"]
    codes = [_reset(committed, e, "10.9.9.9").status_code for e in emails]
    assert codes == [302, 302, 302, 429]
    assert "for your network address" in _alert(_reset(committed, "c@example.com", "10.9.9.9"))
    assert [m.to for m in outbox] == [["viewer@example.com"]]
    assert _reset(committed, "editor@example.com", "10.9.9.10").status_code == 302
    assert [m.to for m in outbox][-1] == ["editor@example.com"]


def test_the_reset_pause_lifts_once_its_window_passed(settings, team, committed, outbox):
    settings.STUDIO_RESET_MAX_EMAIL = 1
    assert _reset(committed, "viewer@example.com").status_code == 302
    assert _reset(committed, "viewer@example.com").status_code == 429
    LoginFailure.objects.update(created=timezone.now() - timedelta(minutes=61))
    assert _reset(committed, "viewer@example.com").status_code == 302
    assert len(outbox) == 2


def test_reset_requests_and_failed_log_ins_are_counted_apart(settings, team, committed, outbox):
    settings.STUDIO_RESET_MAX_ADDRESS = 2
    settings.STUDIO_LOGIN_MAX_FAILURES_ADDRESS = 2
    for _ in range(2):
        _reset(committed, "viewer@example.com", "10.0.0.7")
    # Paused reset mail does not lock log-ins from that address...
    client = Client(REMOTE_ADDR="10.0.0.7")
    response = client.post(reverse("login"), {"username": "viewer", "password": "nope"})
    assert response.status_code == 200
    # ...and failed log-ins from another address do not pause its reset mail.
    other = Client(REMOTE_ADDR="10.0.0.8")
    for _ in range(2):
        other.post(reverse("login"), {"username": "editor", "password": "nope"})
    assert other.post(reverse("login"), {"username": "editor", "password": "x"}).status_code == 429
    assert _reset(committed, "editor@example.com", "10.0.0.8").status_code == 302


def test_password_change_needs_the_old_password(team):
    client = team.client("viewer")
    url = reverse("password_change")
    new = "lantern-harbour-57"
    wrong = {"old_password": "wrong", "new_password1": new, "new_password2": new}
    assert client.post(url, wrong).status_code == 200
    right = {"old_password": "pass-word-123", "new_password1": new, "new_password2": new}
    assert client.post(url, right).status_code == 302
    assert Client().login(username="viewer", password=new)


def test_sign_up_is_off_by_default(db):
    assert Client().get(reverse("signup")).status_code == 404
    assert "Create an account" not in Client().get(reverse("login")).content.decode()


def test_sign_up_when_the_operator_turns_it_on(db, settings):
    settings.STUDIO_SIGNUP = True
    assert "Create an account" in Client().get(reverse("login")).content.decode()
    client = Client()
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "first_name": "New",
            "email": "newbie@example.org",
            "password1": "harbour-lights-61",
            "password2": "harbour-lights-61",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").email == "newbie@example.org"
    assert client.get(reverse("project_list")).status_code == 200
    assert Membership.objects.filter(user__username="newbie").count() == 0


def test_a_bad_studio_signup_value_stops_start_up():
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "DJANGO_SETTINGS_MODULE": "studio.settings",
            "DJANGO_DEBUG": "true",
            "STUDIO_SIGNUP": "maybe",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "STUDIO_SIGNUP='maybe' is not a boolean" in done.stderr


# --- mail configuration and sending -----------------------------------------------------------


def test_email_url_smtp_with_tls_and_quoted_password():
    got = email_settings("smtp://mailer%40studio:p%40ss%2Fword@mail.example.org:2525?tls=true")
    assert got["EMAIL_BACKEND"].endswith("smtp.EmailBackend")
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"]) == ("mail.example.org", 2525)
    assert (got["EMAIL_HOST_USER"], got["EMAIL_HOST_PASSWORD"]) == ("mailer@studio", "p@ss/word")
    assert got["EMAIL_USE_TLS"] is True and got["EMAIL_USE_SSL"] is False


def test_email_url_ssl_defaults_to_port_465_and_console_prints():
    assert email_settings("smtp://mail.example.org?ssl=true")["EMAIL_PORT"] == 465
    assert email_settings("smtp://mail.example.org")["EMAIL_PORT"] == 25
    assert email_settings("console://")["EMAIL_BACKEND"].endswith("console.EmailBackend")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("smtps://mail.example.org", "must start with smtp:// or console://"),
        ("smtp://mail.example.org?tls=true&ssl=true", "not both"),
        ("smtp://mail.example.org?tls=yesplease", "not a boolean"),
        ("smtp://mail.example.org?starttls=1", "unknown option"),
        ("smtp://:25", "names no mail server"),
    ],
)
def test_a_bad_email_url_is_refused_with_a_reason(url, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        email_settings(url)


def test_mail_leaves_only_after_the_transaction_commits(
    db, outbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mail_send(to=["a@example.org"], subject="kept", body="x")
    with (
        pytest.raises(RuntimeError),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        mail_send(to=["b@example.org"], subject="rolled back", body="x")
        raise RuntimeError("the request failed")
    assert [m.subject for m in outbox] == ["kept"]


def test_the_members_page_does_not_send_mail_inside_the_request(
    team, django_capture_on_commit_callbacks, monkeypatch
):
    from studio import tasks

    sent = []
    monkeypatch.setattr(tasks.send_mail_task, "delay", sent.append)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        team.client("owner").post(
            members_url(team), {"identifier": "x@example.org", "role": "viewer"}
        )
    assert sent == [] and mail.outbox == []
    for callback in queued:
        callback()
    assert len(sent) == 1 and sent[0]["to"] == ["x@example.org"]


def test_resending_an_invitation_to_no_account_says_sent_and_mails_nobody(team, committed, outbox):
    invite(team, committed, "nobody-here")
    invitation = Invitation.objects.get()
    response = committed(
        team.client("owner").post, reverse("invitation_resend", args=[invitation.pk]), follow=True
    )
    assert "Invitation sent again to “nobody-here”" in response.content.decode()
    assert outbox == []  # no account, no address: nothing to send, and nothing said about it


def test_a_member_accepting_another_invitation_keeps_their_role(team, committed, outbox):
    invite(team, committed, "viewer", role="owner")
    invitation = Invitation.objects.get(identifier="viewer")
    response = team.client("viewer").post(
        reverse("invitation_accept", args=[invitation.pk]), follow=True
    )
    assert "you are a viewer here" in response.content.decode()
    assert Membership.objects.get(project=team.project, user=team.viewer).role == "viewer"


def test_with_open_sign_up_a_claimed_address_does_not_receive_the_invitation(
    team, committed, outbox, settings
):
    settings.STUDIO_SIGNUP = True
    squatter = UserFactory(username="squatter", email="ana@example.org")
    invite(team, committed, "ana@example.org")
    squatter_client = Client()
    squatter_client.force_login(squatter)
    assert "Harbour Lights" not in squatter_client.get(reverse("invitations")).content.decode()
    assert not squatter.notifications.exists()
    assert outbox[0].to == ["ana@example.org"]  # only whoever reads that mailbox can accept


def test_one_person_sends_at_most_a_days_worth_of_invitations(team, committed, outbox):
    from studio.services import INVITATIONS_PER_DAY

    for n in range(INVITATIONS_PER_DAY):
        services.invitation_create(
            project=team.project,
            identifier=f"p{n}@example.org",
            role="viewer",
            invited_by=team.owner,
        )
    response = invite(team, committed, "one-more@example.org")
    assert "invitations in the last day" in response.content.decode()
    assert not Invitation.objects.filter(identifier="one-more@example.org").exists()
    Invitation.objects.update(sent=timezone.now() - timedelta(days=1, seconds=1))
    invite(team, committed, "one-more@example.org")
    assert Invitation.objects.filter(identifier="one-more@example.org").exists()
