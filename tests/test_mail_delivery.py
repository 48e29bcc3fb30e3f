"""Mail through a real worker and a loopback SMTP server that is down, then up."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import Retry

from studio.mail import mail_send
from tests import workers_harness
from tests.fakes.smtp_server import FakeSMTP
from tests.workers_harness import start_worker_process, wait_for

# The harness fixtures, made visible to pytest in this module.
harness = workers_harness.harness
fake_provider = workers_harness.fake_provider


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_mail_server_down_then_up_gets_the_mail_exactly_once(harness):
    smtp = FakeSMTP()  # not started: nothing listens on its port yet
    env = harness.worker_env() | {
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "STUDIO_MAIL_RETRY_BASE_S": "1",
    }
    worker = start_worker_process(env, harness.root / "mail.log", name="mail", queues=["default"])
    harness.workers.append(worker)

    mail_send(to=["ana@example.org"], subject="Panel 3 approved", body="Ana approved panel 3.")

    wait_for(
        lambda: worker.log().count("not sent") >= 2,
        30,
        what="two refused attempts",
        describe=lambda: worker.log()[-3000:],
    )
    assert smtp.mailbox.all() == []
    with smtp:
        received = wait_for(
            smtp.mailbox.all, 60, what="the mail to arrive", describe=lambda: worker.log()[-3000:]
        )
        # Longer than the next retry would wait: a second copy would show up here.
        time.sleep(5)
        received = smtp.mailbox.all()
    assert len(received) == 1
    assert received[0].recipients == ["ana@example.org"]
    assert "Subject: Panel 3 approved" in received[0].data
    assert "given up" not in worker.log()


def _never_delivered(calls):
    def deliver(message):
        calls.append(message)
        raise ConnectionRefusedError("mail server down")

    return deliver


def test_retries_are_bounded_and_then_logged(settings, monkeypatch, caplog):
    from studio import mail, tasks

    settings.STUDIO_MAIL_MAX_RETRIES = 2
    calls: list = []
    monkeypatch.setattr(mail, "mail_deliver", _never_delivered(calls))
    message = {"to": ["a@example.org"], "subject": "s", "body": "b"}
    with pytest.raises(Retry):  # the second try fails: a third is scheduled
        tasks.send_mail_task.apply(args=[message], retries=1)
    assert "given up" not in caplog.text
    tasks.send_mail_task.apply(args=[message], retries=2)  # the third fails: no fourth
    assert len(calls) == 2
    assert "given up after 3 tries" in caplog.text


def test_the_pause_between_tries_doubles_and_is_capped(settings):
    from studio.tasks import retry_delay

    settings.STUDIO_MAIL_RETRY_BASE_S = 30
    assert 15 <= retry_delay(0) <= 30
    assert 60 <= retry_delay(2) <= 120
    assert 1800 <= retry_delay(20) <= 3600


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_without_a_mail_server_the_worker_prints_the_mail(harness):
    """What `make run` does: no EMAIL_URL, so the message appears in the worker's output."""
    env = {k: v for k, v in harness.worker_env().items() if k != "EMAIL_URL"}
    worker = start_worker_process(
        env, harness.root / "console.log", name="console", queues=["default"]
    )
    harness.workers.append(worker)
    mail_send(to=["ana@example.org"], subject="Your PDF is ready", body="Open http://x/exports/1/")
    wait_for(
        lambda: "Subject: Your PDF is ready" in worker.log(),
        30,
        what="the mail in the worker's output",
        describe=lambda: worker.log()[-3000:],
    )
    assert "Open http://x/exports/1/" in worker.log()
