"""What our own accounts answered of a day's negative mentions, for the digest (#20).

Answered: an own post since the day's start replies to the mention (``in_reply_to_id`` =
its native id on the same network) or is later in its conversation. Everything starts from
our own posts (``:own_posts``, found by ``storage.accounts.own_post_ids``), a handful a day,
so the cost follows our posting, not the day's mentions. The statements need ``:own_posts``,
and ``SETTLED`` also ``:start`` and ``:end``.
"""

from __future__ import annotations

__all__ = ["OWN_ANSWERS", "SETTLED", "answered_sql"]


def answered_sql(alias: str) -> str:
    """SQL true when one of our own accounts answered the mention ``alias`` (needs ``OWN_ANSWERS``).

    Answered: an own post since the day's start replies to it, or is later in its
    conversation. Both come from the own posts (a handful), never from a probe of
    every mention's replies.
    """
    return f"""(
    EXISTS (SELECT 1 FROM own_replies o WHERE o.network = {alias}.network AND o.target = {alias}.native_id)
    OR ({alias}.conversation_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM own_threads t WHERE t.network = {alias}.network
          AND t.conversation_id = {alias}.conversation_id AND t.latest > {alias}.created_at))
)"""


# What our own posts since the day's start (``:own_posts``, found by storage.accounts) did: the
# mentions they replied to, and the conversations they took part in with the latest own post of
# each. A reply cannot precede what it answers, so own posts before the day answer none of its
# mentions: an own reply counts from the day's start, like an own post in a thread (#20).
OWN_ANSWERS = """own_posts AS MATERIALIZED (
    SELECT r.id, r.network, r.in_reply_to_id, r.conversation_id, r.created_at
    FROM json_each(:own_posts) i JOIN mentions r ON r.id = i.value),
own_replies AS MATERIALIZED (
    SELECT DISTINCT network, in_reply_to_id AS target FROM own_posts WHERE in_reply_to_id IS NOT NULL),
own_threads AS MATERIALIZED (
    SELECT network, conversation_id, max(created_at) AS latest FROM own_posts
    WHERE conversation_id IS NOT NULL GROUP BY network, conversation_id)"""
# The day's negative mentions the digest does not owe: our own, and those we answered. Each
# read from our own posts: the own negatives among them, the targets of the replies (the
# unique (network, native_id) key), and the negatives of each own thread's conversation before
# its latest own post (the partial mentions_negative_conversation, migration 22). UNION: a
# mention answered twice, or our own and answered, is settled once.
SETTLED = """settled (id) AS (
    SELECT o.id FROM own_posts o JOIN mentions m ON m.id = o.id
    WHERE m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end
    UNION
    SELECT m.id FROM own_replies o JOIN mentions m ON m.network = o.network AND m.native_id = o.target
    WHERE m.sentiment_label = 'negative' AND m.created_at >= :start AND m.created_at < :end
    UNION
    SELECT m.id FROM own_threads t JOIN mentions m INDEXED BY mentions_negative_conversation
      ON m.network = t.network AND m.conversation_id = t.conversation_id
    WHERE m.sentiment_label = 'negative' AND m.conversation_id IS NOT NULL
      AND m.created_at >= :start AND m.created_at < min(:end, t.latest))"""
