"""When and how long to wait before trying a request again. No I/O here: the client does the requests.

What is retried (issue 12; client-go's rest client does the same for reads):
- idempotent requests (GET, LIST, WATCH set-up) on 429, 500, 502, 503, 504, on a connection that broke
  before an answer came (reset, closed), and on a refused connection once the server has answered before
  (an API server restarting behind its load balancer; a server that never answered is reported at once);
- any request on 429: the API server's priority and fairness rejects it before it does anything with it;
- any request whose connection was refused after the server had answered before (nothing was sent).
A mutating request whose connection broke after it was sent is never repeated blindly: the client reads
the object back first (see client.Cluster).

Waits: capped exponential backoff with jitter (equal jitter: half fixed, half random), or what the server
asks in `Retry-After` (seconds or an HTTP date) plus a little jitter -- never less than asked. All waits
stay within the request's deadline (`--request-timeout` covers the request with its retries, as in
client-go) and the command's overall deadline (`--timeout`).
"""
from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from typing import Callable, Optional

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5             # tries in all, the first one included
    base: float = 0.25            # first backoff (seconds) before jitter
    cap: float = 4.0              # longest backoff (seconds) before jitter
    max_retry_after: float = 30.0  # a server asking for a longer wait than this is not waited for
    retry_after_jitter: float = 0.1  # fraction added on top of Retry-After (spreads a thundering herd)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Wait before retry number `retry` (1-based): min(cap, base * 2**(retry-1)), of which half is random."""
        step = min(self.cap, self.base * (2 ** max(0, retry - 1)))
        return step / 2 + rand() * step / 2

    def wait_for(self, retry: int, retry_after: Optional[float],
                 rand: Callable[[], float] = random.random) -> float:
        """The wait before retry number `retry`; never less than `retry_after` when the server gave one."""
        if retry_after is None:
            return self.backoff(retry, rand)
        return retry_after + rand() * self.retry_after_jitter * max(retry_after, 0.1)


NO_RETRIES = RetryPolicy(attempts=1)


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date); None when absent or unusable.

    `now` is the current wall-clock time (epoch seconds); a date in the past means "now" (0 seconds).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # RFC 7231 dates are GMT
        import datetime

        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, when.timestamp() - now)


def retryable_status(method: str, status: int) -> bool:
    """May a request that got this HTTP status be sent again as it is?"""
    if status == 429:
        return True  # rejected by priority and fairness before any processing, for every verb
    return method in IDEMPOTENT_METHODS and status in RETRYABLE_STATUS
