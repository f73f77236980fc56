"""Several daemons writing one PostgreSQL store (#22): the same posts saved at once are stored once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from listener.model import Mention, Page, SaveResult
from storage.pg.store import PgStore

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def mention(native_id: str, text: str) -> Mention:
    return Mention(network="x", native_id=native_id, text=text, created_at=T0, like_count=int(native_id))


def test_two_writers_saving_overlapping_pages_in_opposite_orders_store_each_post_once(
    postgres_url: str,
) -> None:
    """Each round both writers wait at a barrier, then save the same 40 posts (half known, half new)
    in opposite orders, one of them with edited texts: no deadlock, no duplicate, one edit kept."""
    stores = [PgStore.open(postgres_url), PgStore.open(postgres_url)]
    results: list[list[SaveResult]] = [[], []]
    errors: list[BaseException] = []
    try:
        for round_ in range(5):
            ids = [str(round_ * 20 + i) for i in range(40)]  # the first 20 were new in the last round
            pages = [
                Page("x", "brand", [mention(i, f"post {i}") for i in ids], cursor=f"a{round_}"),
                Page("x", "brand", [mention(i, f"post {i} (edited {round_})") for i in reversed(ids)]),
            ]
            barrier = threading.Barrier(2)

            def save(n: int, page: Page, barrier: threading.Barrier) -> None:
                try:
                    barrier.wait(timeout=10)
                    results[n].append(stores[n].save_page(page, now=T0))
                except BaseException as exc:  # surfaced below, in the test's thread
                    errors.append(exc)

            threads = [threading.Thread(target=save, args=(n, page, barrier)) for n, page in enumerate(pages)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
        new = sum(r.new for rs in results for r in rs)
        assert new == stores[0].count_mentions() == 120
        assert stores[0].conn.execute("SELECT count(DISTINCT native_id) FROM mentions").fetchone() == (120,)
        assert stores[0].get_cursor("x", "brand") == "a4"
    finally:
        for store in stores:
            store.close()
