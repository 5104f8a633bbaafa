"""Replay tokens: the format (pinned), round trips, sizes, and one error per way to fail."""

from __future__ import annotations

import base64
import random
import re
import sys
import zlib

import pytest

from snarl.errors import InvalidToken
from snarl.exploration.token import GRANULARITIES, PREFIX, VERSION, Token, decode, encode

HERE = sys.version_info[:2]
URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def random_schedule(rng: random.Random, steps: int, switches: int, threads: int) -> list[int]:
    """``steps`` choices among ``threads`` threads with exactly ``switches`` switches."""
    cuts = sorted(rng.sample(range(1, steps), switches))
    out: list[int] = []
    previous = None
    for start, end in zip([0, *cuts], [*cuts, steps], strict=True):
        thread = rng.choice([t for t in range(threads) if t != previous])
        out += [thread] * (end - start)
        previous = thread
    return out


def forge(payload: bytes, *, header: int = VERSION, crc: bool = True) -> str:
    """A token built by hand from a payload, to reach the checks behind the checksum."""
    body = payload + (zlib.crc32(payload).to_bytes(4, "big") if crc else b"")
    raw = bytes([header]) + body
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---------------------------------------------------------------- the format is a contract


def test_the_format_is_pinned():
    token = encode([0, 0, 0, 1, 1, 0], granularity="sync", python=(3, 12))
    assert token == "snarl-AQMMAAMAAgEBAAAArsLfXg"
    payload = bytes([3, 12, 0, 3, 0, 2, 1, 1, 0, 0, 0])  # 3 runs: (0, 3) (1, 2) (0, 1); 0 draws
    assert token == forge(payload)


def test_granularity_codes_are_pinned():
    assert GRANULARITIES == ("sync", "line", "bytecode", "gil", "interval", "shared")


def test_a_token_is_one_url_safe_word():
    rng = random.Random(0)
    for _ in range(50):
        token = encode(random_schedule(rng, 500, 30, 4), granularity="line")
        assert token.startswith(PREFIX)
        assert URL_SAFE.fullmatch(token[len(PREFIX) :])


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("seed", range(40))
def test_round_trip(seed):
    rng = random.Random(seed)
    threads = [
        rng.randrange(rng.choice([1, 2, 5, 300])) for _ in range(rng.choice([0, 1, 10, 700]))
    ]
    if rng.random() < 0.5:  # long runs, as real schedules have
        threads = random_schedule(rng, rng.randrange(2, 5000), 1, 3) + threads
    draws = [rng.randrange(1 << rng.randrange(1, 40)) for _ in range(rng.randrange(4))]
    granularity = rng.choice(GRANULARITIES)
    token = encode(threads, granularity=granularity, draws=draws)
    assert decode(token) == Token(tuple(threads), granularity, HERE, VERSION, tuple(draws))


def test_python_defaults_to_the_running_one_and_surrounding_space_is_ignored():
    token = encode([1, 2], granularity="gil")
    assert decode(f"  {token}\n").python == HERE


def test_the_body_is_compressed_only_when_that_is_shorter():
    alternating = [i % 2 for i in range(2000)]  # 2000 runs of one step: compresses well
    token = encode(alternating, granularity="bytecode")
    raw = base64.urlsafe_b64decode(token[len(PREFIX) :] + "==")
    assert raw[0] == VERSION | 0x80
    assert len(token) < 100
    assert decode(token).threads == tuple(alternating)
    short = encode([0, 1, 0], granularity="sync")
    assert base64.urlsafe_b64decode(short[len(PREFIX) :] + "==")[0] == VERSION


def test_tokens_stay_short():
    # 10000 steps with 20 switches: measured 92 to 104 characters over 200 seeds.
    rng = random.Random(1)
    sizes = [
        len(encode(random_schedule(rng, 10_000, 20, rng.choice([2, 3, 4, 8])), granularity="line"))
        for _ in range(200)
    ]
    assert max(sizes) <= 110


def test_encode_refuses_what_it_cannot_write():
    with pytest.raises(ValueError, match="unknown granularity 'opcode'"):
        encode([0], granularity="opcode")
    with pytest.raises(ValueError, match=re.escape("only numbers in [0, 2**63), not -1")):
        encode([0, -1], granularity="sync")
    with pytest.raises(ValueError, match="python"):
        encode([0], granularity="sync", python=(3, 300))


# ---------------------------------------------------------------- one message per failure


def test_not_a_token():
    with pytest.raises(
        InvalidToken, match=r"^not a snarl token: 'AQMMAAMA' does not start with 'snarl-'$"
    ):
        decode("AQMMAAMA")
    with pytest.raises(InvalidToken, match="does not start"):
        decode("shuttle-91e3cae")
    with pytest.raises(InvalidToken, match="is not base64url"):
        decode("snarl-AQMM+AAM/")
    with pytest.raises(InvalidToken, match="expected a str, got bytes"):
        decode(b"snarl-AQMM")  # type: ignore[arg-type]


def test_damaged_length():
    with pytest.raises(InvalidToken, match=r"^damaged token: bad length"):
        decode("snarl-AQMMA")  # 5 characters: no base64 text has that length
    with pytest.raises(InvalidToken, match="damaged token: it is empty"):
        decode("snarl-")
    with pytest.raises(InvalidToken, match="damaged token: too short"):
        decode(forge(b"\x03"))


def test_damaged_checksum():
    token = encode([0] * 5 + [1] * 7 + [0] * 3, granularity="sync")
    for i in range(len(PREFIX), len(token)):
        changed = token[:i] + ("B" if token[i] == "A" else "A") + token[i + 1 :]
        with pytest.raises(InvalidToken, match=r"^damaged token|^this token was made by"):
            decode(changed)
    cut = token[:-3]
    with pytest.raises(InvalidToken, match="damaged token: checksum mismatch"):
        decode(cut if len(cut) % 4 != 1 else token[:-2])


def test_a_changed_last_character_is_damage_even_where_base64_would_ignore_it():
    token = encode([0, 1, 1], granularity="sync")
    assert len(token[len(PREFIX) :]) % 4 in (2, 3)  # the last character carries spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = alphabet[alphabet.index(token[-1]) ^ 1]  # flips a bit base64 decoding drops
    with pytest.raises(InvalidToken, match="its last character was changed"):
        decode(token[:-1] + spare)


def test_damaged_compressed_body():
    with pytest.raises(InvalidToken, match="compressed body does not inflate"):
        decode(forge(b"not zlib at all", header=VERSION | 0x80, crc=False))
    cut = zlib.compress(bytes(100))[:-3]
    with pytest.raises(InvalidToken, match="compressed body is cut short"):
        decode(forge(cut, header=VERSION | 0x80, crc=False))


def test_damaged_varints():
    py = bytes(HERE)
    with pytest.raises(InvalidToken, match="bad varint \\(the payload ends"):
        decode(forge(py + b"\x00\x02\x00\x80"))  # a run's length lacks its last byte
    with pytest.raises(InvalidToken, match="bad varint \\(too long"):
        decode(forge(py + b"\x00" + b"\xff" * 10 + b"\x01"))
    with pytest.raises(InvalidToken, match="2 unexpected bytes after the schedule"):
        decode(forge(py + b"\x00\x01\x00\x00\x00\x07\x07"))
    with pytest.raises(InvalidToken, match="more than 10000000 steps"):
        decode(forge(py + b"\x00\x01\x00\xff\xff\xff\xff\x0f\x00"))


def test_another_token_version():
    with pytest.raises(
        InvalidToken,
        match=r"^this token was made by snarl token version 2 \(this snarl reads version 1\)",
    ):
        decode(forge(b"anything at all", header=2))
    with pytest.raises(InvalidToken, match="version byte is 0"):
        decode(forge(b"anything at all", header=0))


def test_another_python():
    other = (HERE[0], HERE[1] + 1)
    token = encode([0, 1], granularity="sync", python=other)
    message = (
        f"token made on Python {other[0]}.{other[1]} but this is {HERE[0]}.{HERE[1]} "
        "(replay is exact only on the same minor version)"
    )
    with pytest.raises(InvalidToken, match=f"^{re.escape(message)}$"):
        decode(token)


def test_unknown_granularity():
    with pytest.raises(
        InvalidToken, match=r"unknown granularity code 9 \(this snarl knows sync, line"
    ):
        decode(forge(bytes(HERE) + b"\x09\x00\x00"))


def test_invalid_token_carries_help():
    with pytest.raises(InvalidToken) as caught:
        decode("nope")
    assert isinstance(caught.value, ValueError)
    assert "Copy the whole token" in caught.value.help
