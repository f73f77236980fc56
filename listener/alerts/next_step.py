"""What to do about an alert, said at the end of every message, in Italian and English.

An alert read on a phone at seven in the morning must end with the next move:
the command that acknowledges it, the inbox where its posts wait for an
answer (when ``[serve] public_url`` says where it is), and, when the brand's own
account posts what it never posts, the checklist of a hijacked account.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

__all__ = ["HIJACK", "NextStep", "inbox_for", "next_step"]

WORDS = {
    "en": {
        "title": "Next step", "ack": "Acknowledge it (it stays quiet unless it gets worse)",
        "inbox": "Answer from the inbox", "hijack": "If it was not you: the account may be hijacked",
    },
    "it": {
        "title": "Cosa fare ora", "ack": "Prendila in carico (tace finché non peggiora)",
        "inbox": "Rispondi dalla inbox", "hijack": "Se non sei stato tu, l'account potrebbe essere violato",
    },
}  # fmt: skip

HIJACK = {
    "en": (
        "Change the account's password (and turn on two-factor authentication).",
        "Revoke every active session and the connected apps you do not recognise.",
        "Delete the post, or pin a correction if it has spread already.",
        "Apologise to your followers: say what happened and that it is fixed.",
    ),
    "it": (
        "Cambia la password dell'account (e attiva la verifica in due passaggi).",
        "Chiudi tutte le sessioni attive e revoca le app collegate che non riconosci.",
        "Cancella il post, o fissa in alto una rettifica se è già circolato.",
        "Scusati con chi ti segue: spiega cosa è successo e che è risolto.",
    ),
}


@dataclass(frozen=True, slots=True)
class NextStep:
    title: str
    ack_label: str
    ack: str | None  # the command, "listener alerts ack 12"; None once resolved
    inbox: str | None  # the inbox's URL, when [serve] public_url is set
    inbox_label: str
    checklist_title: str | None
    checklist: tuple[str, ...]

    def lines(self) -> list[str]:
        """The plain-text form, for the text part and the chat message."""
        out = [f"{self.title}:"]
        out += [f"- {self.ack_label}: {self.ack}"] if self.ack else []
        out += [f"- {self.inbox_label}: {self.inbox}"] if self.inbox else []
        if self.checklist_title:
            out += ["", f"{self.checklist_title}:"]
            out += [f"{i}. {step}" for i, step in enumerate(self.checklist, 1)]
        return out


def inbox_for(public_url: str | None, kind: str, watch: str) -> str | None:
    """Where in the inbox an alert's posts wait: its watch's stories, the negative ones for a
    negative alert; the whole inbox for the others (an own account, a source's health)."""
    if not public_url:
        return None
    if kind not in ("volume", "negative") or watch.startswith("@"):
        return public_url
    query = {"watch": watch, **({"sentiment": "negative"} if kind == "negative" else {})}
    return f"{public_url.rstrip('/')}/-/inbox?{urlencode(query)}"


def next_step(alert_id: int, kind: str, event: str, language: str, inbox_url: str | None = None) -> NextStep:
    """The moves for this alert: ``ack`` while it is open, the inbox, the hijack checklist."""
    w = WORDS.get(language, WORDS["en"])
    own = kind.startswith("own")
    return NextStep(
        title=w["title"],
        ack_label=w["ack"],
        ack=f"listener alerts ack {alert_id}" if event != "resolved" else None,
        inbox=inbox_url,
        inbox_label=w["inbox"],
        checklist_title=w["hijack"] if own and event != "resolved" else None,
        checklist=HIJACK.get(language, HIJACK["en"]) if own and event != "resolved" else (),
    )
