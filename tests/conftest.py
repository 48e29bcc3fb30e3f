"""Shared fixtures: one project with an owner, an editor, a reviewer, a viewer and an outsider."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from studio.models import Membership, Project, User
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test stores files in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@dataclass
class Team:
    project: Project
    owner: User
    editor: User
    reviewer: User
    viewer: User
    outsider: User

    def client(self, who: str) -> Client:
        client = Client()
        client.force_login(getattr(self, who))
        return client


@pytest.fixture
def team(db) -> Team:
    project = ProjectFactory(name="Harbour Lights")
    users = {}
    for role in ("owner", "editor", "reviewer", "viewer"):
        users[role] = UserFactory(username=role)
        MembershipFactory(project=project, user=users[role], role=Membership.Role(role))
    outsider = UserFactory(username="outsider")
    # The outsider has a project of their own: being a member somewhere must not open others.
    MembershipFactory(project=ProjectFactory(name="Elsewhere"), user=outsider, role="owner")
    return Team(project=project, outsider=outsider, **users)


@pytest.fixture
def owner_client(team) -> Client:
    return team.client("owner")


@pytest.fixture
def editor_client(team) -> Client:
    return team.client("editor")


@pytest.fixture
def reviewer_client(team) -> Client:
    return team.client("reviewer")


@pytest.fixture
def viewer_client(team) -> Client:
    return team.client("viewer")


@pytest.fixture
def outsider_client(team) -> Client:
    return team.client("outsider")


@pytest.fixture
def driver(monkeypatch):
    """Generation jobs run in this process when the test calls `driver.run()`."""
    from tests.generation import Driver
    from workers import pipeline, tasks

    d = Driver()  # its queue is a deque: appends from many threads are safe

    def route(task, kind: str) -> None:
        monkeypatch.setattr(task, "delay", lambda job_id: d.send(pipeline.Step(kind, 0, job_id)))
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args, countdown=0: d.send(pipeline.Step(kind, countdown, args[0])),
        )

    route(tasks.start_job, "start")
    route(tasks.poll_job, "poll")
    route(tasks.cancel_at_provider, "cancel")
    return d


@pytest.fixture(autouse=True)
def _mail_in_process(request, monkeypatch):
    """Mail a test queues runs its task in this process, into Django's test outbox.

    Without this, a job that fails in a test (and tells its requester) would
    publish a mail task to the broker. Tests with real workers (`harness`)
    publish for those workers to send.
    """
    if "harness" in request.fixturenames:
        return
    from studio import tasks

    monkeypatch.setattr(
        tasks.send_mail_task, "delay", lambda message: tasks.send_mail_task(message)
    )


@pytest.fixture
def outbox():
    """The mail sent so far in this test (Django's locmem outbox)."""
    from django.core import mail

    return mail.outbox


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a call, then what it queued for after its commit (a `db` test is one transaction)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


class Deliveries(list):
    """Webhook deliveries held back, as a broker holds them until a worker takes them."""

    def run(self, driver) -> None:
        from workers import pipeline

        while self:
            driver.queue.extend(pipeline.job_deliver(*self.pop(0)).flatten())
        driver.run()


@pytest.fixture
def deliveries(monkeypatch, driver):
    """Webhook results the views hand to workers, held for `deliveries.run(driver)`."""
    from workers import tasks

    held = Deliveries()
    monkeypatch.setattr(tasks.deliver_result, "delay", lambda *args: held.append(args))
    return held


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server on a free loopback port, for the whole run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(moto_endpoint, settings):
    """A fresh private bucket on the local S3 server; the studio stores its files there."""
    from tests.s3 import new_bucket, use_bucket

    made = new_bucket(moto_endpoint)
    use_bucket(settings, made)
    return made


@pytest.fixture(autouse=True)
def _fresh_card_cache():
    """Each test starts with no board cards cached (the cache lives as long as the process)."""
    from django.core.cache import caches

    caches["cards"].clear()
