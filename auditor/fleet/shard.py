"""`auditor fleet --shard K/N`: the K-th of N stable shards of a tenants file, for a fleet spread over machines.

A row's shard comes from its identity, never from its position, so adding, removing or reordering
rows moves no other tenant, and every machine (any Python version, any `PYTHONHASHSEED`) agrees:

- the key is `tenant:` + the row's tenant_id, trimmed and lower-cased (GUIDs and domains are
  case-insensitive): a renamed row stays in its shard;
- a row without a tenant_id has a graph_url and a name (the tenants file requires both: the name
  makes its folder), so its key is `url:` + its graph_url + `|` + its folder, lower-cased: unique in
  the file, as folders are;
- the shard is the first 8 bytes of the key's SHA-256, as a big-endian number, modulo N, plus 1.

Every valid row has one of the two keys, so every row lands in exactly one shard. Two rows with one
tenant_id (say, two app ids checked in one tenant) share a shard, which is harmless.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from auditor.fleet.tenants_file import TenantRow
from auditor.model.errors import InputError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$", re.ASCII)  # 0-9 only, not other scripts' digits
MAX_SHARDS = 999_999  # "K/N" is stored in the history's 16-character shard column


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, tenant: TenantRow) -> bool:
        return shard_of(shard_key(tenant), self.count) == self.index


WHOLE = Shard(1, 1)


def parse_shard(text: str) -> Shard:
    """`K/N` with 1 ≤ K ≤ N; anything else is a usage error."""
    match = _SHARD.match(text)
    if match is None:
        raise InputError(f"--shard {text!r}: expected K/N, e.g. 2/5 (shard K of N, counted from 1)")
    # Leading zeros dropped: a number of any length is compared without converting thousands of digits.
    index_digits, count_digits = (match[group].lstrip("0") or "0" for group in (1, 2))
    if len(count_digits) > len(str(MAX_SHARDS)) or int(count_digits) > MAX_SHARDS:
        raise InputError(f"--shard {text!r}: N is too large (at most {MAX_SHARDS} shards)")
    count = int(count_digits)
    index = int(index_digits) if len(index_digits) <= len(count_digits) else count + 1  # more digits: above N
    if count < 1 or not 1 <= index <= count:
        raise InputError(f"--shard {text!r}: K must be from 1 to N, and N at least 1")
    return Shard(index, count)


def shard_key(tenant: TenantRow) -> str:
    """The row's stable identity (see the module docstring)."""
    if tenant.tenant_id:
        return f"tenant:{tenant.tenant_id.strip().lower()}"
    return f"url:{tenant.live.graph_url or ''}|{tenant.folder}".lower()


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def shard_of(key: str, count: int) -> int:
    """The 1-based shard of `key` among `count`."""
    return int.from_bytes(key_digest(key)[:8], "big") % count + 1


def select(tenants: list[TenantRow], shard: Shard) -> list[TenantRow]:
    """The shard's rows, in file order."""
    return [tenant for tenant in tenants if shard.holds(tenant)]
