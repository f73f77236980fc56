"""SQL pieces the PostgreSQL modules share."""

from __future__ import annotations

__all__ = ["ascii_lower"]


def ascii_lower(expr: str) -> str:
    """``expr`` with ASCII letters lowered, as SQLite's ``lower()`` does, whatever the server's locale."""
    return f"translate({expr}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
