"""Replay tokens: a schedule as one short word to paste on a command line.

A token is ``snarl-`` followed by the unpadded base64url (RFC 4648 section 5: ``A-Z a-z 0-9
- _``) of these bytes, format version 1::

    header    1 byte   bits 0-6: the token version (1); bit 7: the body is zlib-compressed
    body               the payload, zlib-compressed when that is shorter (as hypothesis's
                       encode_failure does)

    payload:
    python    2 bytes  the major and minor version of the Python that ran the schedule
    gran      1 byte   granularity code: 0 sync, 1 line, 2 bytecode, 3 gil, 4 interval,
                       5 shared (added later: a new code, every older token unchanged)
    runs      varint n, then n pairs (varint thread, varint run length - 1): the thread
                       choices run-length encoded (schedules are long runs of one thread)
    draws     varint m, then m varints: the program's random draws, in order
    crc       4 bytes  CRC32 of everything above in the payload, big-endian

Varints are unsigned LEB128 (7 bits a byte, low bits first, high bit set on all but the last
byte).  The version byte comes first and is never compressed, so a token of any other version
is recognised and refused by name.  Replay is exact only on the Python minor version that made
the token (bytecode and line events differ between minor versions), so :func:`decode` refuses
a token of another one.  Changing this layout means a new version number.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from snarl.errors import InvalidToken

__all__ = ["GRANULARITIES", "PREFIX", "VERSION", "Token", "decode", "encode"]

PREFIX = "snarl-"
VERSION = 1
GRANULARITIES = ("sync", "line", "bytecode", "gil", "interval", "shared")
MAX_STEPS = 10_000_000  # decode refuses to expand a token beyond this many choices
_COMPRESSED = 0x80
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class Token:
    """A decoded token: the thread chosen at each step, and what the schedule ran under."""

    threads: tuple[int, ...]
    granularity: str
    python: tuple[int, int]
    version: int = VERSION
    draws: tuple[int, ...] = ()


def encode(
    threads: Sequence[int],
    *,
    granularity: str,
    python: tuple[int, int] | None = None,
    draws: Sequence[int] = (),
) -> str:
    """The token of a schedule (``python`` defaults to the running interpreter's version)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"unknown granularity {granularity!r}: one of {', '.join(GRANULARITIES)}")
    major, minor = python if python is not None else sys.version_info[:2]
    if not (0 <= major < 256 and 0 <= minor < 256):
        raise ValueError(f"python must be a (major, minor) pair of bytes, not {python!r}")
    out = bytearray([major, minor, GRANULARITIES.index(granularity)])
    runs = _runs(threads)
    _varint(out, len(runs))
    for thread, length in runs:
        _varint(out, thread)
        _varint(out, length - 1)
    _varint(out, len(draws))
    for value in draws:
        _varint(out, value)
    out += zlib.crc32(out).to_bytes(4, "big")
    packed = zlib.compress(bytes(out), 9)
    if len(packed) < len(out):
        raw = bytes([VERSION | _COMPRESSED]) + packed
    else:
        raw = bytes([VERSION]) + out
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str) -> Token:
    """The schedule in ``token``; :class:`~snarl.errors.InvalidToken` says why if it cannot be
    read (not a token, damaged, another token version, another Python minor version)."""
    if not isinstance(token, str):
        raise InvalidToken(f"not a snarl token: expected a str, got {type(token).__name__}")
    token = token.strip()
    if not token.startswith(PREFIX):
        shown = token if len(token) <= 24 else token[:21] + "..."
        raise InvalidToken(f"not a snarl token: {shown!r} does not start with {PREFIX!r}")
    text = token[len(PREFIX) :]
    if not _BASE64URL.fullmatch(text):
        raise InvalidToken(
            f"not a snarl token: what follows {PREFIX!r} is not base64url (A-Z a-z 0-9 - _)"
        )
    if len(text) % 4 == 1:
        raise InvalidToken("damaged token: bad length (characters were lost or added)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as e:  # pragma: no cover - the checks above leave nothing for it
        raise InvalidToken(f"not a snarl token: {e}") from None
    if not raw:
        raise InvalidToken("damaged token: it is empty after the prefix")
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != text:
        raise InvalidToken("damaged token: its last character was changed")
    version = raw[0] & ~_COMPRESSED
    if version == 0:
        raise InvalidToken("damaged token: its version byte is 0")
    if version != VERSION:
        raise InvalidToken(
            f"this token was made by snarl token version {version} "
            f"(this snarl reads version {VERSION}); replay it with the snarl that printed it"
        )
    body = raw[1:]
    if raw[0] & _COMPRESSED:
        body = _inflate(body)
    if len(body) < 3 + 2 + 4:
        raise InvalidToken(f"damaged token: too short ({len(body)} bytes of payload)")
    payload, crc = body[:-4], body[-4:]
    if zlib.crc32(payload).to_bytes(4, "big") != crc:
        raise InvalidToken("damaged token: checksum mismatch (a character was changed or lost)")
    python = (payload[0], payload[1])
    here = sys.version_info[:2]
    if python != here:
        raise InvalidToken(
            f"token made on Python {python[0]}.{python[1]} but this is {here[0]}.{here[1]} "
            "(replay is exact only on the same minor version)"
        )
    if payload[2] >= len(GRANULARITIES):
        raise InvalidToken(
            f"token has unknown granularity code {payload[2]} "
            f"(this snarl knows {', '.join(GRANULARITIES)})"
        )
    threads, draws = _parse(payload, 3)
    return Token(tuple(threads), GRANULARITIES[payload[2]], python, version, tuple(draws))


def _runs(threads: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for thread in threads:
        if runs and runs[-1][0] == thread:
            runs[-1][1] += 1
        else:
            runs.append([thread, 1])
    return [(thread, length) for thread, length in runs]


def _varint(out: bytearray, value: int) -> None:
    if not 0 <= value < 1 << 63:
        raise ValueError(f"a token holds only numbers in [0, 2**63), not {value}")
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(body, 16 * MAX_STEPS)
    except zlib.error as e:
        raise InvalidToken(f"damaged token: its compressed body does not inflate ({e})") from None
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise InvalidToken("damaged token: its compressed body is cut short or too long")
    return out


def _parse(payload: bytes, pos: int) -> tuple[list[int], list[int]]:
    reader = _Reader(payload, pos)
    threads: list[int] = []
    for _ in range(reader.varint()):
        thread, length = reader.varint(), reader.varint() + 1
        if len(threads) + length > MAX_STEPS:
            raise InvalidToken(f"damaged token: it holds more than {MAX_STEPS} steps")
        threads += [thread] * length
    count = reader.varint()
    if count > MAX_STEPS:
        raise InvalidToken(f"damaged token: it holds more than {MAX_STEPS} draws")
    draws = [reader.varint() for _ in range(count)]
    if reader.pos != len(payload):
        raise InvalidToken(
            f"damaged token: {len(payload) - reader.pos} unexpected bytes after the schedule"
        )
    return threads, draws


class _Reader:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data = data
        self.pos = pos

    def varint(self) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise InvalidToken(
                    f"damaged token: bad varint (the payload ends at byte {self.pos})"
                )
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise InvalidToken(f"damaged token: bad varint (too long, at byte {self.pos})")
