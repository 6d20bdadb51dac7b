"""Sockets for the guest, carried by the host (docs/network.md).

WASI gives the guest no sockets. This module replaces socket.socket with
HostSocket, whose connections the host opens, checks and caps; the guest
only ever holds a handle. What the host allows is decided there: this code
lives inside the box and changing it gains nothing.

connect() asks the host to connect at once, so errors (not allowed,
blocked address, refused, timed out) surface where programs expect them.
ssl wrap_socket() then asks the host to start TLS on that connection (the
host does TLS with OpenSSL and verifies the certificate; see netssl.py);
a socket wrapped before connecting connects with TLS directly. Names are
resolved by the host, at connect time, so getaddrinfo() hands the name
back unresolved.

Only client TCP exists: no UDP, no servers.
"""

import errno
import itertools
import select as _select
import socket as _socket
import struct

import _cloche

# The host network core's status codes (src/net/net.h).
EDENIED, EPRIVATE, ERESOLVE, ECONNREFUSED, ETIMEDOUT, ETLS = range(-1, -7, -1)
ELIMIT, EBADF, ECLOSED, ENOMEM, EIO, EINVAL = range(-7, -13, -1)

_FAKE_FD_BASE = 1 << 20  # fileno() values; never real WASI descriptors
_fds = itertools.count(_FAKE_FD_BASE)
_by_fd = {}  # fake fd -> open HostSocket (for select)
_std_socket = _socket.socket
_PORTS = {"http": 80, "https": 443}


def _tls_error(message):
    from . import netssl

    if "certificate verify failed" in message:
        return netssl.SSLCertVerificationError(1, message)
    return netssl.SSLError(1, message)


def error_for(code, sock=None, sending=False):
    """The exception for a host status code (docs/network.md)."""
    msg = _cloche.net_error() or "network error"
    if code in (EDENIED, EPRIVATE):
        return PermissionError(errno.EACCES, msg)
    if code == ERESOLVE:
        return _socket.gaierror(_socket.EAI_NONAME, msg)
    if code == ECONNREFUSED:
        return ConnectionRefusedError(errno.ECONNREFUSED, msg)
    if code == ETIMEDOUT:
        if sock is not None and sock._timeout == 0:
            return BlockingIOError(errno.EAGAIN, "operation would block")
        return TimeoutError("timed out")
    if code == ETLS:
        return _tls_error(msg)
    if code == ELIMIT:
        return OSError(errno.EDQUOT, msg)
    if code == EBADF:
        return OSError(errno.EBADF, "Bad file descriptor")
    if code == ECLOSED:
        if sending:
            return BrokenPipeError(errno.EPIPE, msg)
        return ConnectionResetError(errno.ECONNRESET, msg)
    if code == ENOMEM:
        return MemoryError(msg)
    if code == EINVAL:
        return OSError(errno.EINVAL, msg)
    return OSError(errno.EIO, msg)


def _port_number(port):
    if isinstance(port, bytes):
        port = port.decode()
    if isinstance(port, str):
        port = _PORTS.get(port, port)
        try:
            port = int(port)
        except ValueError:
            raise _socket.gaierror(_socket.EAI_SERVICE,
                                   f"unknown service {port!r}") from None
    if port is None:
        return 0
    if not 0 <= port <= 65535:
        raise OverflowError("port must be 0-65535.")
    return port


def _host_name(host):
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii")
    if not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not "
                        f"{type(host).__name__}")
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
    return host


class HostSocket:
    """A client TCP socket whose connection lives on the host."""

    def __init__(self, family=_socket.AF_INET, type=_socket.SOCK_STREAM,
                 proto=0, fileno=None):
        if fileno is not None:
            raise OSError(errno.EBADF, "sandbox sockets cannot adopt a "
                                       "file descriptor")
        kind = type & ~(getattr(_socket, "SOCK_NONBLOCK", 0)
                        | getattr(_socket, "SOCK_CLOEXEC", 0))
        if family == -1:
            family = _socket.AF_INET
        if family not in (_socket.AF_INET, _socket.AF_INET6) or \
                kind != _socket.SOCK_STREAM:
            raise OSError(errno.EPROTONOSUPPORT,
                          "only TCP client sockets exist in the sandbox")
        self.family, self.type, self.proto = family, kind, proto
        self._handle = -1
        self._peer = None
        self._tls = False
        self._server_hostname = None
        self._timeout = _socket.getdefaulttimeout()
        self._closed = False
        self._io_refs = 0
        self._fd = next(_fds)
        _by_fd[self._fd] = self

    # --- connection ------------------------------------------------------

    def connect(self, address):
        if self._closed:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if self._peer is not None:
            raise OSError(errno.EISCONN, "Transport endpoint is already "
                                         "connected")
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError("address must be a (host, port) tuple")
        host, port = _host_name(address[0]), _port_number(address[1])
        # A non-blocking socket still connects blocking: the host has no
        # half-open connections to hand back.
        timeout = -1 if not self._timeout else self._timeout_ms()
        handle = _cloche.net_connect(host, port, self._tls, timeout)
        if handle < 0:
            raise error_for(handle)
        self._peer = (host, port)
        self._handle = handle

    def connect_ex(self, address):
        try:
            self.connect(address)
        except OSError as exc:
            return exc.errno or errno.EIO
        return 0

    def _open(self):
        """The host's handle of the connection."""
        if self._handle < 0:
            if self._closed:
                raise OSError(errno.EBADF, "Bad file descriptor")
            raise OSError(errno.ENOTCONN, "Transport endpoint is not "
                                          "connected")
        return self._handle

    def _timeout_ms(self):
        if self._timeout is None:
            return -1
        return max(0, int(self._timeout * 1000))

    # --- data ------------------------------------------------------------

    def send(self, data, flags=0):
        handle = self._open()
        sent = _cloche.net_send(handle, data, self._timeout_ms())
        if sent < 0:
            raise error_for(sent, self, sending=True)
        return sent

    def sendall(self, data, flags=0):
        view = memoryview(data).cast("B")
        while view:
            view = view[self.send(view):]

    def recv_into(self, buffer, nbytes=0, flags=0):
        view = memoryview(buffer).cast("B")
        if nbytes:
            view = view[:nbytes]
        if not view:
            return 0
        got = _cloche.net_recv(self._open(), view, self._timeout_ms())
        if got < 0:
            if got == ECLOSED and self._eof_on_reset():
                return 0
            raise error_for(got, self)
        return got

    def _eof_on_reset(self):
        return False

    def recv(self, bufsize, flags=0):
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        buf = bytearray(min(bufsize, 1 << 20))
        return bytes(buf[:self.recv_into(buf)])

    def recvfrom(self, bufsize, flags=0):
        return self.recv(bufsize), self._peer

    # --- options and state -----------------------------------------------

    def settimeout(self, value):
        if value is not None:
            value = float(value)
            if value < 0:
                raise ValueError("Timeout value out of range")
        self._timeout = value

    def gettimeout(self):
        return self._timeout

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0

    def setsockopt(self, *args):
        """Accepted and ignored: the host owns the real socket."""

    def getsockopt(self, level, option, buflen=None):
        return 0 if buflen is None else b"\0" * buflen

    def getpeername(self):
        if self._peer is None:
            raise OSError(errno.ENOTCONN, "Transport endpoint is not "
                                          "connected")
        return self._peer

    def getsockname(self):
        return ("0.0.0.0", 0)

    def fileno(self):
        return -1 if self._closed else self._fd

    def bind(self, address):
        raise OSError(errno.EACCES, "binding sockets is not possible in the "
                                    "sandbox")

    def listen(self, backlog=0):
        raise OSError(errno.EOPNOTSUPP, "servers are not possible in the "
                                        "sandbox")

    accept = listen

    def shutdown(self, how):
        # WASI numbers SHUT_RD/WR/RDWR 1/2/3; the host import wants 0/1/2.
        sides = {_socket.SHUT_RD: 0, _socket.SHUT_WR: 1, _socket.SHUT_RDWR: 2}
        if how not in sides:
            raise ValueError("invalid shutdown mode")
        if self._handle >= 0:
            rc = _cloche.net_shutdown(self._handle, sides[how])
            if rc < 0 and rc != ETIMEDOUT:
                raise error_for(rc, self)

    def close(self):
        self._closed = True
        if self._io_refs <= 0:
            self._really_close()

    def _really_close(self):
        _by_fd.pop(self._fd, None)
        if self._handle >= 0:
            _cloche.net_close(self._handle)
            self._handle = -1

    def detach(self):
        raise OSError(errno.EOPNOTSUPP, "sandbox sockets cannot be detached")

    def _take_over(self, other):
        """Become other (ssl.wrap_socket); other is left closed."""
        self.__dict__.update(other.__dict__)
        _by_fd[self._fd] = self
        other._handle = -1
        other._closed = True
        other._fd = next(_fds)

    # makefile() and the SocketIO bookkeeping are the stdlib's own.
    makefile = _std_socket.makefile
    _decref_socketios = _std_socket._decref_socketios

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._closed else (
            f"peer={self._peer!r}" if self._peer else "unconnected")
        return f"<cloche socket fd={self._fd} {state}>"

    def __del__(self):
        if not getattr(self, "_closed", True):
            self._really_close()


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """Names are resolved by the host when it connects; hand them back."""
    if host is None:
        raise _socket.gaierror(_socket.EAI_NONAME, "servers are not possible "
                                                   "in the sandbox")
    host = _host_name(host)
    port = _port_number(port)
    fam = _socket.AF_INET6 if ":" in host else _socket.AF_INET
    if family not in (0, _socket.AF_UNSPEC, fam):
        raise _socket.gaierror(_socket.EAI_FAMILY, "address family mismatch")
    if type not in (0, _socket.SOCK_STREAM):
        raise _socket.gaierror(_socket.EAI_SOCKTYPE, "only TCP is available")
    addr = (host, port) if fam == _socket.AF_INET else (host, port, 0, 0)
    return [(fam, _socket.SOCK_STREAM, _socket.IPPROTO_TCP, "", addr)]


# The sandbox's host name: fixed, like a container's, and never the host's.
HOSTNAME = "cloche"


def gethostname():
    return HOSTNAME


def gethostbyname(name):
    name = _host_name(name)
    try:
        _socket.inet_pton(_socket.AF_INET, name)
        return name
    except OSError:
        raise _socket.gaierror(
            _socket.EAI_NONAME, "the sandbox cannot resolve names; connect "
                                "by name and the host resolves it") from None


_real_select = _select.select
_real_poll = getattr(_select, "poll", None)
# The host's poll flags (src/net/net.h) and select.poll's for each.
_HOST_FLAGS = ((0x1, _select.POLLIN), (0x2, _select.POLLOUT),
               (0x4, _select.POLLERR), (0x8, _select.POLLHUP),
               (0x10, _select.POLLNVAL))
_POLLIN, _POLLOUT = 0x1, 0x2


def _fd_of(obj):
    return obj if isinstance(obj, int) else obj.fileno()


def _only_sockets(fds, what):
    """True if fds are all sandbox sockets, False if none is; mixing the
    two in one call is an error."""
    ours = [fd >= _FAKE_FD_BASE for fd in fds]
    if not any(ours):
        return False
    if not all(ours) or any(fd not in _by_fd for fd in fds):
        raise OSError(errno.EINVAL, f"{what}() cannot mix sandbox sockets "
                                    f"with other files")
    return True


def _host_poll(want, timeout_ms):
    """Wait on sandbox sockets: want maps fake fd -> host poll flags;
    returns fake fd -> the host's revents."""
    order = list(want)
    # _open(): an unconnected socket is an error, as in CPython.
    records = bytearray(b"".join(
        struct.pack("<iII", _by_fd[fd]._open(), want[fd], 0) for fd in order))
    rc = _cloche.net_poll(records, timeout_ms)
    if rc < 0:
        raise error_for(rc)
    return {fd: struct.unpack_from("<iII", records, 12 * i)[2]
            for i, fd in enumerate(order)}


def select(rlist, wlist, xlist, timeout=None):
    """select.select over sandbox sockets (through the host's poll)."""
    want = {}
    for objs, flag in ((rlist, _POLLIN), (wlist, _POLLOUT)):
        for obj in objs:
            want[_fd_of(obj)] = want.get(_fd_of(obj), 0) | flag
    if not _only_sockets(want, "select"):
        return _real_select(rlist, wlist, xlist, timeout)
    if xlist:
        raise OSError(errno.EINVAL, "select() on sandbox sockets has no "
                                    "exceptional set")
    ms = -1 if timeout is None else max(0, int(timeout * 1000))
    ready = _host_poll(want, ms)
    readable = [o for o in rlist if ready[_fd_of(o)] & ~_POLLOUT]
    writable = [o for o in wlist if ready[_fd_of(o)] & ~_POLLIN]
    return readable, writable, []


class Poll:
    """select.poll over sandbox sockets (other files go to WASI's poll;
    one object cannot mix the two)."""

    def __init__(self):
        self._events = {}

    def register(self, fd, eventmask=_select.POLLIN | _select.POLLPRI
                 | _select.POLLOUT):
        self._events[_fd_of(fd)] = eventmask

    def modify(self, fd, eventmask):
        if _fd_of(fd) not in self._events:
            raise FileNotFoundError(errno.ENOENT, "not registered")
        self._events[_fd_of(fd)] = eventmask

    def unregister(self, fd):
        del self._events[_fd_of(fd)]

    def poll(self, timeout=None):
        if not _only_sockets(self._events, "poll"):
            real = _real_poll()
            for fd, mask in self._events.items():
                real.register(fd, mask)
            return real.poll(timeout)
        want = {fd: sum(host for host, py in _HOST_FLAGS[:2] if mask & py)
                for fd, mask in self._events.items()}
        ms = -1 if timeout is None or timeout < 0 else int(timeout)
        ready = _host_poll(want, ms)
        result = [(fd, sum(py for host, py in _HOST_FLAGS if got & host))
                  for fd, got in ready.items()]
        return [(fd, mask) for fd, mask in result if mask]


def install():
    """Put the shims in place (build time; part of the image)."""
    _socket.socket = _socket.SocketType = HostSocket
    _socket.getaddrinfo = getaddrinfo
    _socket.gethostbyname = gethostbyname
    _socket.gethostname = gethostname
    import _socket as _c_socket  # the C module lacks gethostname on WASI

    _c_socket.gethostname = gethostname
    _select.select = select
    if _real_poll is not None:
        _select.poll = Poll
    import selectors  # its classes captured the originals at import

    selectors.SelectSelector._select = staticmethod(select)
    if hasattr(selectors, "PollSelector"):
        selectors.PollSelector._selector_cls = Poll
