"""Test-only network guard, loaded into the app's subprocess via PYTHONPATH: loopback traffic only.

The fakes route the real Azure host names through a local CONNECT proxy, so the app never resolves or dials
anything but 127.0.0.1. This guard makes that a hard rule: a DNS lookup of any other name or a connection to any
non-loopback address fails with OSError inside the process instead of leaving the machine.
"""

import errno
import ipaddress
import socket
from typing import Any

_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: object) -> bool:
    if host is None or host == "localhost":
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _guard(address: object) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise OSError(errno.ENETUNREACH, f"network guard (tests): refusing to connect to {address[0]}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    _guard(address)
    return _connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    _guard(address)
    return _connect_ex(self, address)


def _guarded_getaddrinfo(
    host: bytes | str | None,
    port: bytes | str | int | None,
    family: int = 0,
    type: int = 0,
    proto: int = 0,
    flags: int = 0,
) -> Any:
    if not _is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"network guard (tests): refusing to resolve {host!r}")
    return _getaddrinfo(host, port, family, type, proto, flags)


# Patched with setattr: replacing the standard library's methods is the point here, and a type checker rightly
# refuses it as a plain assignment (the typeshed signatures are not these wrappers').
setattr(socket.socket, "connect", _guarded_connect)  # noqa: B010
setattr(socket.socket, "connect_ex", _guarded_connect_ex)  # noqa: B010
setattr(socket, "getaddrinfo", _guarded_getaddrinfo)  # noqa: B010
