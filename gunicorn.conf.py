"""gunicorn settings for Sviedka.

Serving model (README "Serving"): ``registry.serving.worker`` gathers each
request's head in an event loop and lends a thread only to a request that
is ready; large bodies stream through a separate upload pool, sealed as
they arrive.  A slow or idle client therefore costs a socket, and an upload
over Tor may take as long as it needs.

Logging (promise 3): no access log, ever; the error log goes through
``registry.serving.logs.QuietLogger``, which strips every record of request
data (addresses, request lines, URLs, exception messages).
"""

import os
import sys

import gunicorn.http.wsgi

from config import Config, ConfigError

try:
    _settings = Config.from_env()
except ConfigError as error:
    sys.exit(f"Error: {error}")  # one line naming the variable, not a traceback

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "2"))
worker_class = "registry.serving.worker.SlowNetworkWorker"
threads = _settings.serve_threads
# Sockets, not threads, hold waiting connections: a generous cap.
worker_connections = 1000
# No keep-alive, as with the sync workers before.  A kept-alive connection
# stays with the worker that accepted it, so a few busy clients can pile
# onto one worker's interpreter lock while the other worker idles: measured
# with 4 reviewers (bench part c) at 15 s, queue p95 went from 39 to 74 ms,
# case pages from 77 to 159 ms, and 4 of 520 page loads failed; at 0 every
# request is accepted by whichever worker is free.  (The worker's own
# keep-alive path is tested with --keep-alive in tests/serving.)
keepalive = 0
# The event loop reports to the arbiter every second, whatever the threads
# do; a worker silent this long is truly stuck.
timeout = 60
# gunicorn's control socket (``gunicornc``) is a management door nobody here
# uses, and its default path is shared by every gunicorn of the same user.
control_socket_disable = True
accesslog = None
disable_redirect_access_to_syslog = True
logger_class = "registry.serving.logs.QuietLogger"
errorlog = "-"
loglevel = "warning"
# Files the workers create (SQLite journal, blobs) are readable by the owner only.
umask = 0o077
# Addresses are not trusted from proxy headers, and never logged anyway.
forwarded_allow_ips = ""
# No version banner: gunicorn's default "Server: gunicorn" (and, in some
# versions, its version) tells an attacker what to look up.
gunicorn.http.wsgi.SERVER = "sviedka"
