"""tokenbucket: a token-bucket rate limiter, standing in for a small third-party package.

Not installed: ``benchmarks/bugs/library_code.py`` imports it as if it were, from a path under
site-packages (see there), so that tools see it as library code.
"""

from __future__ import annotations

import threading
import time

__all__ = ["LockedTokenBucket", "TokenBucket"]


class TokenBucket:
    """Up to ``capacity`` tokens, ``rate`` more every second; ``try_acquire()`` takes some if
    there are enough.  Not thread-safe: the check and the decrement are two steps."""

    def __init__(self, capacity: int, rate: float = 0.0) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = float(capacity)
        self._stamp = time.monotonic()

    def _refill(self) -> None:
        if self.rate:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def try_acquire(self, tokens: int = 1) -> bool:
        """Take ``tokens`` if there are that many; whether it did."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False


class LockedTokenBucket(TokenBucket):
    """A :class:`TokenBucket` whose ``try_acquire()`` holds a lock: thread-safe."""

    def __init__(self, capacity: int, rate: float = 0.0) -> None:
        super().__init__(capacity, rate)
        self._lock = threading.Lock()

    def try_acquire(self, tokens: int = 1) -> bool:
        with self._lock:
            return super().try_acquire(tokens)
