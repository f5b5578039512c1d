"""Optional client-side requests-per-minute and tokens-per-minute limits.

A token bucket per limit, refilled continuously; callers wait (with the
engine's patchable clock) until both buckets hold enough.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Bounds requests and estimated tokens per minute, shared by sync and async callers."""

    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._clock = clock
        self._lock = threading.Lock()
        now = clock()
        self._requests = float(requests_per_minute or 0)
        self._tokens = float(tokens_per_minute or 0)
        self._stamp = now

    def _reserve(self, tokens: int) -> float:
        """Take one request and ``tokens`` from the buckets; return how long to wait first."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._stamp
            self._stamp = now
            wait = 0.0
            if self.rpm:
                self._requests = min(self.rpm, self._requests + elapsed * self.rpm / 60.0)
                self._requests -= 1
                if self._requests < 0:
                    wait = max(wait, -self._requests * 60.0 / self.rpm)
            if self.tpm:
                tokens = min(tokens, int(self.tpm))  # one huge batch must still pass
                self._tokens = min(self.tpm, self._tokens + elapsed * self.tpm / 60.0)
                self._tokens -= tokens
                if self._tokens < 0:
                    wait = max(wait, -self._tokens * 60.0 / self.tpm)
            return wait

    def acquire(self, tokens: int, sleep: Callable[[float], None]) -> None:
        """Block until one request of ``tokens`` tokens may go."""
        wait = self._reserve(tokens)
        if wait > 0:
            sleep(wait)

    async def aacquire(self, tokens: int, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait until one request of ``tokens`` tokens may go."""
        wait = self._reserve(tokens)
        if wait > 0:
            await sleep(wait)
