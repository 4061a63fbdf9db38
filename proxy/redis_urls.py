"""Redis URLs: a plain Redis (``redis://``, ``rediss://``, ``unix://``) or a Redis Cluster
(``redis+cluster://host:port``, ``rediss+cluster://``; any node of the cluster, the rest are found from
it). ``REDIS_CLUSTER=1`` turns a plain ``REDIS_URL`` into the cluster form (settings). A cluster has
database 0 only. Pure string functions: settings import them before Django is set up.
"""

from __future__ import annotations

from urllib.parse import urlsplit

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SCHEMES = ("redis", "rediss", "unix", *CLUSTER_SCHEMES)


def scheme_problem(setting: str, url: str) -> str:
    """Why the setting ``setting`` cannot hold ``url`` ("" when it can); the password never shown."""
    if not url or url.split("://", 1)[0].lower() in SCHEMES:
        return ""
    return f"{setting} must be a redis://, rediss://, unix:// or redis+cluster:// URL, got {url.split('@')[-1]!r}."


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def as_cluster(url: str) -> str:
    """``url`` in the cluster form (unchanged if it already is, or empty)."""
    if not url or is_cluster(url):
        return url
    scheme, sep, rest = url.partition("://")
    return f"{scheme}+cluster{sep}{rest}"


def plain_url(url: str) -> str:
    """What redis-py reads: the scheme without ``+cluster``, and no database path for a cluster."""
    if not is_cluster(url):
        return url
    scheme, _, rest = url.partition("://")
    parts = urlsplit(f"{scheme.removesuffix('+cluster')}://{rest}")
    return parts._replace(path="").geturl()


def cluster_problem(url: str) -> str:
    """Why ``url`` cannot name a cluster ("" when it can)."""
    if not is_cluster(url):
        return ""
    parts = urlsplit(url)
    if not parts.hostname:
        return "a Redis Cluster URL needs a host (redis+cluster://host:port)"
    if parts.path.strip("/") not in ("", "0"):
        return f"a Redis Cluster has database 0 only, got {parts.path.strip('/')!r}"
    return ""
