"""
A TCP proxy to put between Django and its database, so a test can take the database
away (``cut``) and bring it back (``restore``) without touching the shared server.
"""

from __future__ import annotations

import contextlib
import socket
import threading

_LOCALHOST = "127.0.0.1"


def _close(sock: socket.socket) -> None:
    # shutdown() first: close() alone does not wake a thread blocked in accept()/recv()
    # on the same socket, and the kernel would keep the socket open until it returns.
    with contextlib.suppress(OSError):  # not connected, or already shut down
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


class TcpProxy:
    """
    Listen on 127.0.0.1 (a free port, kept across ``cut``/``restore``) and forward each
    connection to ``upstream``. ``accepted`` counts the connections forwarded so far.

    - ``cut()``: close the listener and every live connection; new ones are refused.
    - ``restore()``: listen again on the same port.
    - ``drop_connections()``: close the live connections but keep listening (a server
      restart, a NAT timeout: the connection dies, the database is still there).
    - ``freeze()``: stop forwarding bytes, keeping every socket open and accepting new
      connections (a hung server: nothing is refused, nothing answers); ``thaw()`` resumes.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._live: set[socket.socket] = set()
        self._flowing = threading.Event()
        self._flowing.set()

    @property
    def address(self) -> tuple[str, int]:
        return (_LOCALHOST, self.port)

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def restore(self) -> None:
        if self._listener is None:
            self._listen()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def cut(self) -> None:
        self.thaw()  # pumps held by a freeze must run on to see their sockets closed
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
            self._accept_thread.join(timeout=5)
            assert not self._accept_thread.is_alive(), "proxy accept loop did not stop"
        self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            live, self._live = self._live, set()
        for sock in live:
            _close(sock)

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The port is reused on restore() while the cut connections sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((_LOCALHOST, self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(listener,), name="tcp-proxy-accept", daemon=True
        )
        self._accept_thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut(): the listener was shut down
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut() while this one connected
                    _close(client)
                    _close(upstream)
                    return
                self.accepted += 1
                self._live.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), name="tcp-proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass  # either side closed: the connection is over
        finally:
            with self._lock:
                self._live.difference_update((source, sink))
            _close(source)
            _close(sink)
