"""Which of a range's mentions our own accounts answered, for the stories (#20, #21).

Answered: an own post since the range's start replies to the mention (``in_reply_to_id`` =
its native id on the same network) or is later in its conversation. Everything starts from
our own posts (``:own_posts``, found by ``storage.accounts.own_post_ids``), a handful a day,
so the cost follows our posting, not the range's mentions. The statements need ``:own_posts``.
"""

from __future__ import annotations

__all__ = ["OWN_ANSWERS", "OWN_DERIVED", "answered_sql"]


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
# ``OWN_DERIVED`` needs ``own_posts``: every backend writes that one its own way.
OWN_DERIVED = """own_replies AS MATERIALIZED (
    SELECT DISTINCT network, in_reply_to_id AS target FROM own_posts WHERE in_reply_to_id IS NOT NULL),
own_threads AS MATERIALIZED (
    SELECT network, conversation_id, max(created_at) AS latest FROM own_posts
    WHERE conversation_id IS NOT NULL GROUP BY network, conversation_id)"""
OWN_ANSWERS = f"""own_posts AS MATERIALIZED (
    SELECT r.id, r.network, r.in_reply_to_id, r.conversation_id, r.created_at
    FROM json_each(:own_posts) i JOIN mentions r ON r.id = i.value),
{OWN_DERIVED}"""
