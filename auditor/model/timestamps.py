"""The one parser for Graph's date-times, used wherever tenant data holds a time.

Graph writes ISO 8601 with up to 7 fractional digits (`2019-10-18T19:07:19.7374554Z`), a `Z` or an
offset; Python 3.10's `datetime.fromisoformat` accepts neither the 7 digits nor the `Z`, so a
hand-trimmed string would be one more parser. dateutil's `isoparse` reads all of these on every
supported Python (extra fractional digits are cut to microseconds).
"""

from __future__ import annotations

from datetime import datetime, timezone

from dateutil.parser import isoparse


def parse_graph_time(raw: object) -> datetime | None:
    """`raw` as an aware datetime (UTC when it names no zone), or None when it is not an ISO 8601 time."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = isoparse(raw.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
