"""A gunicorn worker in which a slow client costs a connection, not the site.

WHY not gunicorn's stock workers: a ``sync`` worker serves one connection at
a time, so two idle TCP connections stopped the whole site, and its
``timeout`` killed every upload that took longer than 30 s (a 1 MB file at
Tor's 25 KB/s).  The stock ``gthread`` worker still lends a thread to every
connection whose first bytes have arrived, so a handful of clients sending
their headers slowly hold all of its threads.

This worker, built on ``gthread``, adds one phase and one pool:

1. **Gathering, in the event loop.**  A new (or kept-alive) connection's
   bytes are read without blocking until its head is complete, together
   with a body of at most ``max_small_body`` bytes.  Idle connections and
   slow headers therefore hold only a socket and a few kilobytes; a head
   not complete within ``head_timeout`` seconds closes the connection.
2. **Two thread pools.**  A request whose bytes are all in memory goes to
   the serving pool and is answered at once.  A request with a large body
   (an upload) goes to the upload pool, whose threads read the body as it
   arrives: the application seals it chunk by chunk
   (``registry.attachments.upload``), so nothing is buffered in plaintext,
   not in memory and not on disk.  Hundreds of slow uploads can fill the
   upload pool, never the serving pool.

3. **One queue for all workers.**  A worker stops taking new connections
   while it runs a request, for at most a short grace, so they go to a
   free worker instead of sharing a busy one's interpreter lock
   (``registry.serving.door`` says why and what was measured).

Threads never wait forever: every socket carries kernel receive and send
timeouts (``idle_timeout``), so a body that stops arriving, or a reader that
stops reading, frees its thread.  The event loop notifies the arbiter every
second whatever threads do, so gunicorn's ``timeout`` never kills a worker
in the middle of a long upload.

TLS must be terminated in front (a Tor onion service or a reverse proxy):
gathering reads raw bytes, so this worker refuses to start with gunicorn's
own TLS settings.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import struct
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

from config import Config
from registry.serving.door import AcceptDoor
from registry.serving.head import HeadGatherer, Verdict
from registry.serving.logs import quiet_handle_error
from registry.serving.memory import bound_malloc

MAX_HEAD = 16 * 1024
"""Largest request head gathered (browsers send 1–4 KiB)."""
MAX_SMALL_BODY = 16 * 1024
"""Largest body gathered in the event loop (every staff form and most messages)."""
RECV_SIZE = 64 * 1024

_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n"


class GatheredConn(TConn):  # type: ignore[misc]
    """A connection with the bytes the event loop gathered before a thread took it."""

    def __init__(self, cfg: Any, sock: socket.socket, client: Any, server: Any) -> None:
        super().__init__(cfg, sock, client, server)
        self.gathered = b""
        self.streaming = False
        self.head: HeadGatherer | None = None
        self.head_deadline = 0.0

    def init(self) -> None:
        """Create gunicorn's parser, then give it the bytes read so far."""
        super().init()
        self.hand_over()

    def hand_over(self) -> None:
        """Put the gathered bytes in front of whatever the parser reads next."""
        if self.gathered and self.parser is not None:
            self.parser.unreader.unread(self.gathered)
            self.gathered = b""


class SlowNetworkWorker(ThreadWorker):  # type: ignore[misc]
    """gthread with head gathering in the event loop and a separate upload pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = Config.from_env()
        self.head_timeout = settings.head_timeout_seconds
        self.idle_timeout = settings.idle_timeout_seconds
        self.upload_threads = settings.upload_threads
        self.upload_pool: ThreadPoolExecutor | None = None
        # (deadline, connection), in deadline order: the timeout is the same
        # for everyone, so appending keeps the order.
        self.gathering: deque[tuple[float, GatheredConn]] = deque()
        self.door = AcceptDoor(settings.serve_accept_grace_seconds)

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """Refuse gunicorn's own TLS: gathering reads raw request bytes."""
        if cfg.is_ssl:
            raise RuntimeError("terminate TLS in front of this worker (onion service or proxy)")
        super().check_config(cfg, log)

    def init_process(self) -> None:
        """Start the upload pool, then gunicorn's loop (which never returns)."""
        bound_malloc()  # before any thread allocates (see registry.serving.memory)
        self.upload_pool = ThreadPoolExecutor(
            max_workers=self.upload_threads, thread_name_prefix="upload"
        )
        super().init_process()

    def accept(self, listener: socket.socket) -> None:
        """Accept a connection and start gathering its head, without a thread."""
        if not self._accepting:
            # The door shut earlier in this turn of the event loop, after
            # the listener was reported ready (registry.serving.door).
            return
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        _set_idle_timeouts(sock, self.idle_timeout)
        conn = GatheredConn(self.cfg, sock, client, listener.getsockname())
        self._gather(conn)
        # A client usually sends its head right after connecting: read it
        # now, so that a complete request shuts the door before this worker
        # accepts another connection; a head not yet here is gathered as usual.
        self._on_bytes(conn, sock)

    def on_client_socket_readable(self, conn: GatheredConn, client: socket.socket) -> None:
        """A kept-alive connection sent bytes: gather its next request's head too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._gather(conn)

    def _gather(self, conn: GatheredConn) -> None:
        conn.sock.setblocking(False)
        conn.head = HeadGatherer(MAX_HEAD, MAX_SMALL_BODY)
        conn.head_deadline = time.monotonic() + self.head_timeout
        self.gathering.append((conn.head_deadline, conn))
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: GatheredConn, sock: socket.socket) -> None:
        head = conn.head
        if head is None:  # already handed to a thread
            return
        try:
            chunk = sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        verdict = head.feed(chunk)
        if verdict is Verdict.MORE:
            return
        self.poller.unregister(sock)
        conn.head = None
        if verdict is Verdict.REFUSE:
            _best_effort_send(sock, _TOO_LARGE)
            self._close(conn)
            return
        conn.gathered = head.take()
        conn.streaming = verdict is Verdict.STREAM
        # gunicorn's thread would otherwise wait up to 5 s for "first data".
        conn.data_ready = True
        self.enqueue_req(conn)

    def enqueue_req(self, conn: GatheredConn) -> None:
        """Give the connection to the upload pool or the serving pool."""
        pool = self.upload_pool if conn.streaming and self.upload_pool else self.tpool
        future: Future[Any] = pool.submit(self.handle, conn)
        if pool is self.tpool:
            self.door.started(conn, time.monotonic())
            self.set_accept_enabled(self._may_listen())
        future.add_done_callback(
            lambda done: self.method_queue.defer(self.finish_request, conn, done)
        )

    def finish_request(self, conn: GatheredConn, done: Future[Any]) -> None:
        """A thread is done with ``conn``: open the door again if nothing else runs."""
        self.door.finished(conn)
        self.set_accept_enabled(self._may_listen())
        super().finish_request(conn, done)

    def set_accept_enabled(self, enabled: bool) -> None:
        """Listen for new connections only when gunicorn asks and the door is open.

        gunicorn's loop asks for ``True`` on every turn while the worker has
        room for more connections, so a door that closed opens again on the
        first turn after its grace (``wait_for_and_dispatch_events`` makes
        sure there is one).
        """
        # ``alive`` too: gunicorn's loop may ask for True once more after a
        # stop signal; a stopping worker takes no new connection.
        super().set_accept_enabled(enabled and self.alive and self.door.is_open(time.monotonic()))

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wait no longer than until the door opens, so a long request cannot keep it shut."""
        opens = self.door.opens_at()
        if opens is not None and not self._accepting and self._may_listen():
            timeout = max(0.0, min(timeout, opens - time.monotonic()))
        super().wait_for_and_dispatch_events(timeout)

    def _may_listen(self) -> bool:
        # gunicorn's own condition for listening (its run loop), and never
        # again once the worker is stopping (it stops listening for good).
        return bool(self.alive and self.nr_conns < self.worker_connections)

    def handle(self, conn: GatheredConn) -> Any:
        """Serve one request in a thread, the gathered bytes first."""
        conn.hand_over()  # a kept-alive connection already has its parser
        return super().handle(conn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer a bad or failed request without logging anything about it."""
        quiet_handle_error(self.log, client, exc)

    def murder_pending(self) -> None:
        """Also close connections whose head did not arrive in time (run every loop)."""
        super().murder_pending()
        now = time.monotonic()
        while self.gathering and self.gathering[0][0] <= now:
            deadline, conn = self.gathering.popleft()
            # A connection that moved on (to a thread, or to a later request
            # with a later deadline) has a stale entry here: skip it.
            if conn.head is not None and conn.head_deadline == deadline:
                self._drop(conn)

    def _drop(self, conn: GatheredConn) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):  # not registered any more
            self.poller.unregister(conn.sock)
        conn.head = None
        self._close(conn)

    def _close(self, conn: GatheredConn) -> None:
        self.nr_conns -= 1
        conn.close()

    def handle_quit(self, sig: int, frame: Any) -> None:
        """Stop the upload pool with the serving pool on a quick shutdown."""
        if self.upload_pool is not None:
            self.upload_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)


def _set_idle_timeouts(sock: socket.socket, seconds: float) -> None:
    """Kernel receive and send timeouts, which hold in blocking mode too.

    gunicorn's threads put sockets in blocking mode (Python's own timeout is
    then off), so the bound must come from the kernel: a ``recv`` that waits
    longer fails with EAGAIN, which Werkzeug reports as a client that went
    away, and the thread is free again.
    """
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _best_effort_send(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):  # the connection is being closed anyway
        sock.send(data)
