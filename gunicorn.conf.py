"""gunicorn settings for Sviedka.

No access log: an access log line carries the client address and user
agent of every submitter (DESIGN §2, promise 3).  The error log keeps
gunicorn's own messages, which carry no request data.
"""

import os

import gunicorn.http.wsgi

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", "2"))
accesslog = None
disable_redirect_access_to_syslog = True
errorlog = "-"
loglevel = "warning"
# Files the workers create (SQLite journal, blobs) are readable by the owner only.
umask = 0o077
# Addresses are not trusted from proxy headers, and never logged anyway.
forwarded_allow_ips = ""
# No version banner: gunicorn's default "Server: gunicorn" (and, in some
# versions, its version) tells an attacker what to look up.
gunicorn.http.wsgi.SERVER = "sviedka"
