"""Near-duplicate clusters on PostgreSQL: which mentions tell the same story, and how far it spread.

The twin of ``storage.clusters.ClusterTable``; the maths is in ``listener/clusters.py``.
Every mention gets a pending row in ``mention_clusters`` by trigger (006.sql); clustering
fills in its cluster and writes its LSH band keys to ``cluster_bands``. One clustering pass
at a time is assumed (the daemons' jobs run once across the fleet): two at once would each
see the other's mentions as pending.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from listener.query import Node
from listener.records import utc_iso
from storage.clusters import spread_of, spreads
from storage.pg.connection import PgConnection
from storage.pg.search import compile_search
from storage.rows import ClusterHit, Member, Pending, SearchFilters, Spread

__all__ = ["PgClusters"]

_COLLAPSED = """
WITH hits AS MATERIALIZED (
  SELECT m.id, m.created_at, m.network, m.native_id, m.author_handle, m.text, m.url, m.language,
    m.sentiment_label, c.cluster_id, coalesce(c.cluster_id, -m.id) AS g
  FROM mentions m LEFT JOIN mention_clusters c ON c.mention_id = m.id WHERE {where}),
groups AS (
  SELECT g, count(*) AS copies, string_agg(DISTINCT network, ',' ORDER BY network) AS networks,
    max(created_at) AS latest FROM hits GROUP BY g),
firsts AS (SELECT DISTINCT ON (g) * FROM hits ORDER BY g, created_at, id)
SELECT f.id, f.created_at, f.network, f.native_id, f.author_handle, f.text, f.url, f.language,
  f.sentiment_label, f.cluster_id, gr.copies, gr.networks, gr.latest
FROM groups gr JOIN firsts f ON f.g = gr.g ORDER BY gr.latest DESC, f.id DESC LIMIT %s
"""


class PgClusters:
    """``mention_clusters``, ``cluster_bands`` and ``cluster_pruned``; attached to ``PgStore`` as ``clusters``."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def pending(self, limit: int = 1000) -> list[Pending]:
        """Mentions waiting to be clustered, in insertion order (through the partial index)."""
        rows = self.conn.execute(
            "SELECT m.id, m.network, m.text, m.url, m.created_at FROM (SELECT mention_id FROM mention_clusters "
            "WHERE cluster_id IS NULL ORDER BY mention_id LIMIT %s) p JOIN mentions m ON m.id = p.mention_id "
            "ORDER BY m.id",
            (limit,),
        )
        return [Pending(i, network, text, url, utc_iso(at)) for i, network, text, url, at in rows]

    def count_pending(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM mention_clusters WHERE cluster_id IS NULL").fetchone()
        return int(row[0]) if row else 0

    def candidates(
        self, keys: Iterable[int], links: Iterable[str], start: str, end: str
    ) -> tuple[list[tuple[int, int]], list[tuple[str, int]], dict[int, Member]]:
        """Clustered mentions created in [start, end] sharing a band key or a link with new ones.

        Returns (key, mention id) pairs, (link, mention id) pairs and the members by id.
        """
        params = {"keys": sorted(set(keys)), "links": sorted(set(links)), "start": start, "end": end}
        bands = [
            (int(k), int(m))
            for k, m in self.conn.execute(
                "SELECT b.key, b.mention_id FROM cluster_bands b JOIN mention_clusters c ON c.mention_id = b.mention_id "
                "WHERE b.key = ANY(%(keys)s::bigint[]) AND c.cluster_id IS NOT NULL "
                "AND c.created_at BETWEEN %(start)s AND %(end)s",
                params,
            )
        ]
        linked = [
            (str(link), int(m))
            for link, m in self.conn.execute(
                "SELECT link, mention_id FROM mention_clusters WHERE link = ANY(%(links)s::text[]) "
                "AND created_at BETWEEN %(start)s AND %(end)s AND cluster_id IS NOT NULL",
                params,
            )
        ]
        ids = sorted({m for _, m in bands} | {m for _, m in linked})
        rows = self.conn.execute(
            "SELECT c.mention_id, c.cluster_id, c.created_at, m.text, c.link FROM mention_clusters c "
            "JOIN mentions m ON m.id = c.mention_id WHERE c.mention_id = ANY(%s)",
            (ids,),
        )
        members = {
            int(i): Member(int(i), int(cluster), utc_iso(at), text, link)
            for i, cluster, at, text, link in rows
        }
        return bands, linked, members

    def save(
        self,
        assignments: Sequence[tuple[int, int, str | None]],
        bands: Sequence[tuple[int, int]],
        merges: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Store (mention id, cluster id, link) assignments, (key, mention id) band rows and
        (cluster, cluster it joins) merges, in order, at once.

        Band rows of a mention forgotten since it was read are skipped (SQLite keeps them,
        unreferenced; here the foreign key would refuse the whole batch).
        """
        rows = sorted(bands)
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany("UPDATE mention_clusters SET cluster_id = %s WHERE cluster_id = %s", list(merges))
            cur.executemany(
                "UPDATE mention_clusters SET cluster_id = %s, link = %s WHERE mention_id = %s",
                [(cluster, link, mention) for mention, cluster, link in assignments],
            )
            # In key order: each insert lands next to the last one in the key index.
            cur.execute(
                "INSERT INTO cluster_bands (key, mention_id) SELECT b.key, b.mention_id "
                "FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS b (key, mention_id, n) "
                "JOIN mentions m ON m.id = b.mention_id ORDER BY b.n ON CONFLICT DO NOTHING",
                ([k for k, _ in rows], [m for _, m in rows]),
            )
            # ``cluster_pruned.low``: no band row belongs to a mention created before it.
            cur.execute(
                "UPDATE cluster_pruned SET low = least(low, (SELECT min(created_at) FROM mention_clusters "
                "WHERE mention_id = ANY(%s)))",
                (sorted({m for _, m in rows}),),
            )

    def prune(self, before: str) -> int:
        """Forget the band keys of mentions created before ``before``: they are past any window.

        Only mentions created since the last prune (``cluster_pruned.low``) can have any:
        one range of ``mentions_day``, not every older mention again.
        """
        with self.conn.transaction():
            gone = self.conn.execute(
                "DELETE FROM cluster_bands WHERE mention_id IN (SELECT id FROM mentions "
                "WHERE created_at >= (SELECT low FROM cluster_pruned) AND created_at < %s)",
                (before,),
            ).rowcount
            self.conn.execute("UPDATE cluster_pruned SET low = %s WHERE low < %s", (before, before))
            return gone

    def of(self, mention_ids: Iterable[int]) -> dict[int, int]:
        """The cluster of each clustered mention among ``mention_ids``."""
        rows = self.conn.execute(
            "SELECT mention_id, cluster_id FROM mention_clusters WHERE mention_id = ANY(%s) "
            "AND cluster_id IS NOT NULL",
            (sorted({int(i) for i in mention_ids}),),
        )
        return {int(m): int(c) for m, c in rows}

    def spread(self, cluster_ids: Iterable[int]) -> dict[int, Spread]:
        """Size and networks of each cluster (through ``mention_clusters_cluster``)."""
        rows = self.conn.execute(
            "SELECT c.cluster_id, m.network, count(*) FROM mention_clusters c JOIN mentions m ON m.id = c.mention_id "
            "WHERE c.cluster_id = ANY(%s) GROUP BY c.cluster_id, m.network",
            (sorted({int(i) for i in cluster_ids}),),
        )
        return spreads((int(c), str(n), int(k)) for c, n, k in rows)

    def spread_of(self, mention_ids: Iterable[int]) -> dict[int, Spread]:
        """The spread of the cluster of each clustered mention among ``mention_ids``."""
        return spread_of(self, mention_ids)

    def search(self, query: Node | None, filters: SearchFilters, limit: int = 50) -> list[ClusterHit]:
        """Search hits collapsed to one row per cluster, with its spread (``listener search --collapse``).

        Each story is shown by its earliest hit; ``networks`` lists the hits' networks in
        alphabetical order (SQLite's ``group_concat`` gives them in no promised order).
        """
        where, params = compile_search(query, filters)
        rows = self.conn.execute(_COLLAPSED.format(where=where), (*params, limit if limit >= 0 else None))
        return [
            ClusterHit(
                i,
                utc_iso(at),
                net,
                nid,
                handle,
                text,
                url,
                lang,
                label,
                cluster,
                copies,
                nets,
                utc_iso(latest),
            )
            for i, at, net, nid, handle, text, url, lang, label, cluster, copies, nets, latest in rows
        ]

    def members(self, cluster_id: int) -> list[int]:
        rows = self.conn.execute(
            "SELECT mention_id FROM mention_clusters WHERE cluster_id = %s ORDER BY mention_id", (cluster_id,)
        )
        return [int(row[0]) for row in rows]
