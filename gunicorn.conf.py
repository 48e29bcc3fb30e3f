"""gunicorn settings for the studio; gunicorn reads this file from the folder it starts in.

    .venv/bin/gunicorn studio.wsgi --bind 127.0.0.1:8000

One worker process per core and a few threads in each: a page spends part
of its time waiting on PostgreSQL, and threads fill that wait without the
memory of more processes (see "Web server" in the README for the figures).
WEB_CONCURRENCY and GUNICORN_THREADS override the counts.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or os.cpu_count() or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
# Keep-alive lets a browser reuse its connection for the 2 s progress poll.
keepalive = 5
# A board export runs in a worker, never in a request: 30 s is ample for a page.
timeout = 30
