"""Near-duplicate clusters: which mentions tell the same story, and how far it spread.

Reads and writes only; the similarity maths (normalising, shingling, MinHash) is in
``listener/clusters.py``. Every mention gets a pending row in ``mention_clusters``
by trigger (migration 9); clustering fills in its cluster and writes its LSH band
keys to ``cluster_bands``, which later mentions look up by key.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from listener.query import Node
from storage.failures import guarded
from storage.rows import ClusterHit, Member, Pending, SearchFilters, Spread
from storage.search import search_collapsed

__all__ = ["ClusterTable", "Member", "Pending", "Spread", "spread_of", "spreads"]


class _ClusterReads(Protocol):
    def of(self, mention_ids: Iterable[int]) -> dict[int, int]: ...

    def spread(self, cluster_ids: Iterable[int]) -> dict[int, Spread]: ...


def spreads(rows: Iterable[tuple[int, str, int]]) -> dict[int, Spread]:
    """Each cluster's spread from (cluster, network, mentions) rows: for every backend."""
    per: dict[int, list[tuple[str, int]]] = {}
    for cluster, network, count in rows:
        per.setdefault(cluster, []).append((network, count))
    return {
        cluster: Spread(cluster, sum(n for _, n in nets), tuple(sorted(nets, key=lambda x: (-x[1], x[0]))))
        for cluster, nets in per.items()
    }


def spread_of(clusters: _ClusterReads, mention_ids: Iterable[int]) -> dict[int, Spread]:
    """The spread of the cluster of each clustered mention among ``mention_ids``, from ``of`` and ``spread``."""
    found = clusters.of(mention_ids)
    spread = clusters.spread(found.values())
    return {mention: spread[cluster] for mention, cluster in found.items() if cluster in spread}


@guarded
class ClusterTable:
    """``mention_clusters`` and ``cluster_bands``; attached to ``Store`` as ``clusters``."""

    def __init__(
        self, conn: sqlite3.Connection, write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ) -> None:
        self.conn = conn
        self._write = write

    def pending(self, limit: int = 1000) -> list[Pending]:
        """Mentions waiting to be clustered, in insertion order (through the partial index)."""
        rows = self.conn.execute(
            """
            SELECT m.id, m.network, m.text, m.url, m.created_at
            FROM (SELECT mention_id FROM mention_clusters WHERE cluster_id IS NULL ORDER BY mention_id LIMIT ?) p
            JOIN mentions m ON m.id = p.mention_id ORDER BY m.id
            """,
            (limit,),
        )
        return [Pending(*row) for row in rows]

    def count_pending(self) -> int:
        return int(
            self.conn.execute("SELECT count(*) FROM mention_clusters WHERE cluster_id IS NULL").fetchone()[0]
        )

    def candidates(
        self, keys: Iterable[int], links: Iterable[str], start: str, end: str
    ) -> tuple[list[tuple[int, int]], list[tuple[str, int]], dict[int, Member]]:
        """Clustered mentions created in [start, end] sharing a band key or a link with new ones.

        Returns (key, mention id) pairs, (link, mention id) pairs and the members by id.
        """
        params = {"keys": json.dumps(sorted(set(keys))), "links": json.dumps(sorted(set(links))),
                  "start": start, "end": end}  # fmt: skip
        bands = self.conn.execute(
            """
            SELECT b.key, b.mention_id FROM json_each(:keys) k
            JOIN cluster_bands b ON b.key = k.value
            JOIN mention_clusters c ON c.mention_id = b.mention_id
            WHERE c.cluster_id IS NOT NULL AND c.created_at BETWEEN :start AND :end
            """,
            params,
        ).fetchall()
        linked = self.conn.execute(
            """
            SELECT c.link, c.mention_id FROM json_each(:links) l
            JOIN mention_clusters c ON c.link = l.value AND c.created_at BETWEEN :start AND :end
            WHERE c.cluster_id IS NOT NULL
            """,
            params,
        ).fetchall()
        ids = sorted({mid for _, mid in bands} | {mid for _, mid in linked})
        rows = self.conn.execute(
            """
            SELECT c.mention_id, c.cluster_id, c.created_at, m.text, c.link
            FROM json_each(?) i JOIN mention_clusters c ON c.mention_id = i.value
            JOIN mentions m ON m.id = c.mention_id
            """,
            (json.dumps(ids),),
        )
        return bands, linked, {row[0]: Member(*row) for row in rows}

    def save(
        self,
        assignments: Sequence[tuple[int, int, str | None]],
        bands: Sequence[tuple[int, int]],
        merges: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Store (mention id, cluster id, link) assignments, (key, mention id) band rows and
        (cluster, cluster it joins) merges, in order, at once."""
        with self._write() as conn:
            for old, new in merges:
                conn.execute("UPDATE mention_clusters SET cluster_id = ? WHERE cluster_id = ?", (new, old))
            conn.executemany(
                "UPDATE mention_clusters SET cluster_id = ?, link = ? WHERE mention_id = ?",
                [(cluster, link, mention) for mention, cluster, link in assignments],
            )
            # In key order: each insert lands next to the last one in the key index.
            conn.executemany(
                "INSERT OR IGNORE INTO cluster_bands (key, mention_id) VALUES (?, ?)", sorted(bands)
            )
            # ``cluster_pruned.low``: no band row belongs to a mention created before it.
            (first,) = conn.execute(
                "SELECT min(c.created_at) FROM json_each(?) i JOIN mention_clusters c ON c.mention_id = i.value",
                (json.dumps(sorted({mention for _, mention in bands})),),
            ).fetchone()
            if first is not None:
                conn.execute("UPDATE cluster_pruned SET low = min(coalesce(low, ?1), ?1)", (first,))

    def prune(self, before: str) -> int:
        """Forget the band keys of mentions created before ``before``: they are past any window.

        Only mentions created since the last prune (``cluster_pruned.low``) can have any:
        one range of ``mentions_day``, not every older mention again. (A mention's row here
        has its created_at, kept by trigger, so the mentions' own time index serves; the
        index of this table's copy went with migration 16.)
        """
        with self._write() as conn:
            gone = conn.execute(
                "DELETE FROM cluster_bands WHERE mention_id IN (SELECT id FROM mentions "
                "WHERE created_at >= (SELECT low FROM cluster_pruned) AND created_at < ?)",
                (before,),
            ).rowcount
            conn.execute("UPDATE cluster_pruned SET low = ? WHERE low < ?", (before, before))
            return gone

    def of(self, mention_ids: Iterable[int]) -> dict[int, int]:
        """The cluster of each clustered mention among ``mention_ids``."""
        rows = self.conn.execute(
            "SELECT c.mention_id, c.cluster_id FROM json_each(?) i "
            "JOIN mention_clusters c ON c.mention_id = i.value WHERE c.cluster_id IS NOT NULL",
            (json.dumps(sorted(set(mention_ids))),),
        )
        return dict(rows.fetchall())

    def spread(self, cluster_ids: Iterable[int]) -> dict[int, Spread]:
        """Size and networks of each cluster (through ``mention_clusters_cluster``)."""
        rows = self.conn.execute(
            """
            SELECT c.cluster_id, m.network, count(*) FROM json_each(?) i
            JOIN mention_clusters c ON c.cluster_id = i.value JOIN mentions m ON m.id = c.mention_id
            GROUP BY c.cluster_id, m.network
            """,
            (json.dumps(sorted(set(cluster_ids))),),
        )
        return spreads(rows)

    def spread_of(self, mention_ids: Iterable[int]) -> dict[int, Spread]:
        """The spread of the cluster of each clustered mention among ``mention_ids``."""
        return spread_of(self, mention_ids)

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[ClusterHit]:
        """Search hits collapsed to one row per cluster, with its spread (``listener search --collapse``)."""
        return search_collapsed(self.conn, query, filters, limit)

    def members(self, cluster_id: int) -> list[int]:
        rows = self.conn.execute(
            "SELECT mention_id FROM mention_clusters WHERE cluster_id = ? ORDER BY mention_id", (cluster_id,)
        )
        return [row[0] for row in rows]
