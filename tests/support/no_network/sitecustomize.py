"""Loaded via PYTHONPATH by the offline test: any attempt to open an IP socket fails loudly."""

import socket

_real_socket = socket.socket


class _Blocked(OSError):
    pass


class _GuardedSocket(_real_socket):  # type: ignore[misc, valid-type]
    def __new__(cls, family=socket.AF_INET, *args, **kwargs):  # type: ignore[no-untyped-def]
        if family in (socket.AF_INET, socket.AF_INET6, -1):
            raise _Blocked(f"network blocked by test: socket(family={family})")
        return super().__new__(cls, family, *args, **kwargs)


def _no_dns(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise _Blocked(f"network blocked by test: getaddrinfo{args[:2]}")


def _no_connect(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise _Blocked("network blocked by test: create_connection")


socket.socket = _GuardedSocket  # type: ignore[misc]
socket.getaddrinfo = _no_dns  # type: ignore[assignment]
socket.create_connection = _no_connect  # type: ignore[assignment]
