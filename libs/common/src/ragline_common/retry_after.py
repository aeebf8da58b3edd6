"""The wait an HTTP server asks for before a retry, read once for every client in the suite.

Providers say it in different ways: ``Retry-After`` in seconds or as an HTTP date (RFC 9110),
and OpenAI and Azure also send ``retry-after-ms``, finer grained. A client that reads only one
form waits too long, or not at all, on a server that uses another.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The wait ``headers`` ask for, in seconds (never negative), or ``None`` if they name none.

    ``retry-after-ms`` wins over ``retry-after``; header names are matched as given, so pass a
    case-insensitive mapping (``httpx.Headers``) or lower-case names.
    """
    millis = headers.get("retry-after-ms", "").strip()
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
