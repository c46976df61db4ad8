"""How the registry is served: a gunicorn worker for slow networks, quiet logs.

``worker`` gathers each request's head (and a small body) without spending a
thread on it, ``head`` decides when a head is complete, ``logs`` keeps every
gunicorn log line free of request data.  ``gunicorn.conf.py`` wires them in.
"""
