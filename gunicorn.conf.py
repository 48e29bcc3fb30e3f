"""gunicorn settings for the studio; gunicorn reads this file from the folder it starts in.

    .venv/bin/gunicorn studio.wsgi --bind 127.0.0.1:8000

Single-threaded (sync) worker processes, one per core and one more, so a
request waiting on the bucket or the database leaves one free. Measured with
bench/bench_load.py (50 open connections on the board page, PostgreSQL on
the same two cores): threads let one worker take more connections than its
core can serve while the other sits idle, and the slowest answers wait
behind them; see "Web server" in the README for the figures. The sync worker
closes each connection after its answer, which costs little behind the TLS
proxy that keeps the browsers' connections open. WEB_CONCURRENCY sets the
number of workers; GUNICORN_THREADS above 1 switches to threaded workers.
"""

import os

workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
worker_class = "gthread" if threads > 1 else "sync"
# Only the threaded worker keeps connections open between requests.
keepalive = 5
# A board export runs in a worker, never in a request: 30 s is ample for a page.
timeout = 30
