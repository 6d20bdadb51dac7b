"""The sandbox's `ssl` module: TLS is done by the host (docs/network.md).

The guest has no OpenSSL. This stand-in offers the part of the `ssl` API
that HTTP clients use (SSLContext, create_default_context, wrap_socket,
the exception classes) and turns wrap_socket() into "open this connection
with TLS" on the host. The host always verifies the server's certificate
against its trust store and the name that was connected to (STARTTLS on a
plain connection works the same way); settings that
would weaken that (verify_mode = CERT_NONE, check_hostname = False, a
guest CA file) are accepted for compatibility and have no effect, and the
guest never sees a certificate. Client certificates, server-side TLS and
TLS over memory BIOs (asyncio) are not available.
"""

import enum
import socket as _socket

import _cloche

from . import netshim

OPENSSL_VERSION = "OpenSSL on the host (cloche)"
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0x30000000
HAS_SNI = HAS_ECDH = HAS_TLSv1_2 = HAS_TLSv1_3 = True
HAS_ALPN = HAS_NPN = HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = False
HAS_NEVER_CHECK_COMMON_NAME = True
HAS_PSK = False
CHANNEL_BINDING_TYPES = []


class _IntFlags(enum.IntFlag):
    OP_ALL = 0x80000054
    OP_NO_SSLv2 = 0
    OP_NO_SSLv3 = 0x02000000
    OP_NO_TLSv1 = 0x04000000
    OP_NO_TLSv1_1 = 0x10000000
    OP_NO_TLSv1_2 = 0x08000000
    OP_NO_TLSv1_3 = 0x20000000
    OP_NO_COMPRESSION = 0x00020000
    OP_NO_TICKET = 0x00004000
    OP_NO_RENEGOTIATION = 0x40000000
    OP_CIPHER_SERVER_PREFERENCE = 0x00400000
    OP_SINGLE_DH_USE = 0
    OP_SINGLE_ECDH_USE = 0
    OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000


Options = _IntFlags
globals().update(Options.__members__)


class VerifyMode(enum.IntEnum):
    CERT_NONE = 0
    CERT_OPTIONAL = 1
    CERT_REQUIRED = 2


globals().update(VerifyMode.__members__)


class VerifyFlags(enum.IntFlag):
    VERIFY_DEFAULT = 0
    VERIFY_CRL_CHECK_LEAF = 0x4
    VERIFY_CRL_CHECK_CHAIN = 0xC
    VERIFY_X509_STRICT = 0x20
    VERIFY_X509_TRUSTED_FIRST = 0x8000
    VERIFY_X509_PARTIAL_CHAIN = 0x80000
    VERIFY_ALLOW_PROXY_CERTS = 0x40


globals().update(VerifyFlags.__members__)


class _SSLMethod(enum.IntEnum):
    PROTOCOL_TLS = 2
    PROTOCOL_TLS_CLIENT = 16
    PROTOCOL_TLS_SERVER = 17


globals().update(_SSLMethod.__members__)
PROTOCOL_SSLv23 = PROTOCOL_TLS


class TLSVersion(enum.IntEnum):
    MINIMUM_SUPPORTED = -2
    MAXIMUM_SUPPORTED = -1
    SSLv3 = 0x300
    TLSv1 = 0x301
    TLSv1_1 = 0x302
    TLSv1_2 = 0x303
    TLSv1_3 = 0x304


class Purpose(enum.Enum):
    SERVER_AUTH = "1.3.6.1.5.5.7.3.1"
    CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"


class SSLError(OSError):
    library = "SSL"
    reason = None

    def __str__(self):
        return self.strerror if self.strerror else super().__str__()


class SSLZeroReturnError(SSLError):
    """The TLS connection was closed cleanly."""


class SSLWantReadError(SSLError):
    """Non-blocking TLS needs more data first."""


class SSLWantWriteError(SSLError):
    """Non-blocking TLS must write first."""


class SSLSyscallError(SSLError):
    """A system call failed under TLS."""


class SSLEOFError(SSLError):
    """The peer ended the connection without close_notify."""


class SSLCertVerificationError(SSLError, ValueError):
    """The server's certificate did not verify."""

    reason = "CERTIFICATE_VERIFY_FAILED"
    verify_code = 1

    @property
    def verify_message(self):
        return self.strerror


CertificateError = SSLCertVerificationError
SOCK_STREAM = _socket.SOCK_STREAM
SOL_SOCKET = _socket.SOL_SOCKET


class SSLContext:
    """Settings for client TLS; the host does the TLS itself."""

    sslsocket_class = None  # set below

    def __init__(self, protocol=None, *args, **kwargs):
        if protocol == PROTOCOL_TLS_SERVER:
            raise ValueError("server-side TLS is not available in the "
                             "sandbox")
        self.protocol = PROTOCOL_TLS_CLIENT if protocol is None else protocol
        self.verify_mode = CERT_REQUIRED
        self.check_hostname = True
        self.options = OP_ALL
        self.verify_flags = VERIFY_DEFAULT
        self.minimum_version = TLSVersion.TLSv1_2
        self.maximum_version = TLSVersion.MAXIMUM_SUPPORTED
        self.post_handshake_auth = None
        self.keylog_filename = None
        self.sni_callback = None
        self.hostname_checks_common_name = False
        self.security_level = 2
        self._alpn = None

    # Trust and ciphers are the host's: accepted, without effect.
    def load_default_certs(self, purpose=Purpose.SERVER_AUTH):
        pass

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        pass

    def set_default_verify_paths(self):
        pass

    def set_ciphers(self, ciphers):
        pass

    def set_ecdh_curve(self, name):
        pass

    def set_alpn_protocols(self, protocols):
        self._alpn = list(protocols)

    def set_npn_protocols(self, protocols):
        pass

    def get_ca_certs(self, binary_form=False):
        return []

    def cert_store_stats(self):
        return {"x509": 0, "crl": 0, "x509_ca": 0}

    def get_ciphers(self):
        return []

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        raise SSLError(1, "client certificates are not available in the "
                          "sandbox")

    def wrap_socket(self, sock, server_side=False,
                    do_handshake_on_connect=True, suppress_ragged_eofs=True,
                    server_hostname=None, session=None):
        if server_side:
            raise ValueError("server-side TLS is not available in the "
                             "sandbox")
        return SSLSocket._wrap(sock, self, server_hostname,
                               do_handshake_on_connect, suppress_ragged_eofs)

    def wrap_bio(self, *args, **kwargs):
        raise NotImplementedError("TLS over memory BIOs is not available in "
                                  "the sandbox (the host does TLS)")


class SSLSocket(netshim.HostSocket):
    """A HostSocket whose connection the host opens with TLS."""

    @classmethod
    def _wrap(cls, sock, context, server_hostname, handshake, ragged):
        if not isinstance(sock, netshim.HostSocket) or sock._tls:
            raise TypeError("wrap_socket() needs a plain sandbox socket")
        self = cls.__new__(cls)
        self._take_over(sock)
        self._tls = True
        self.context = context
        self.server_hostname = server_hostname
        self.server_side = False
        self.session = None
        self.session_reused = False
        self._ragged = ragged
        self._handshaken = False
        if handshake and self._handle >= 0:
            self.do_handshake()
        return self

    def connect(self, address):
        self._check_name(address[0] if isinstance(address, tuple) else None)
        super().connect(address)  # with TLS: self._tls is set
        self._handshaken = True

    def _check_name(self, host):
        """The host verifies the name it connected to; a different
        server_hostname could not be honoured, so it is an error."""
        if self.server_hostname is None or host is None:
            return
        wanted = netshim._host_name(self.server_hostname).rstrip(".").lower()
        if wanted != netshim._host_name(host).rstrip(".").lower():
            raise SSLCertVerificationError(
                1, f"certificate verify failed: the host verifies "
                   f"{host!r}, the name connected to, not "
                   f"server_hostname {self.server_hostname!r}")

    def _open(self):
        handle = super()._open()
        if not self._handshaken:
            self.do_handshake()
        return handle

    def do_handshake(self, block=False):
        if self._handshaken:
            return
        handle = super()._open()
        self._check_name(self._peer[0])
        rc = _cloche.net_starttls(handle, self._timeout_ms())
        if rc < 0:
            raise netshim.error_for(rc, self)
        self._handshaken = True

    def _eof_on_reset(self):
        return self._ragged

    def getpeercert(self, binary_form=False):
        """The certificate stays on the host, which verified it."""
        self._open()
        return b"" if binary_form else {}

    def version(self):
        return None

    def cipher(self):
        return None

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def selected_alpn_protocol(self):
        return None

    def selected_npn_protocol(self):
        return None

    def pending(self):
        return 0

    def get_channel_binding(self, cb_type="tls-unique"):
        return None

    def unwrap(self):
        raise SSLError(1, "unwrapping TLS is not available in the sandbox")


SSLContext.sslsocket_class = SSLSocket


def create_default_context(purpose=Purpose.SERVER_AUTH, *, cafile=None,
                           capath=None, cadata=None):
    if purpose != Purpose.SERVER_AUTH:
        raise ValueError("only client contexts exist in the sandbox")
    return SSLContext(PROTOCOL_TLS_CLIENT)


def _create_unverified_context(*args, **kwargs):
    """Returns a context like any other: the host verifies regardless."""
    ctx = SSLContext(PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = CERT_NONE
    return ctx


_create_default_https_context = create_default_context
_create_stdlib_context = _create_unverified_context


def wrap_socket(sock, *args, server_hostname=None, **kwargs):
    return create_default_context().wrap_socket(
        sock, server_hostname=server_hostname)


def get_default_verify_paths():
    return None


def RAND_bytes(n):
    import os

    return os.urandom(n)


def RAND_status():
    return True
