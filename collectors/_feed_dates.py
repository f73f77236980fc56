"""Dates as news feeds write them, in six languages: what feedparser cannot read.

Kept apart from ``collectors.rss`` for size; ``feed_date`` is re-exported there.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["feed_date"]
_MONTH_NAMES = (  # January to December; accents dropped, as feed_date compares them
    "january february march april may june july august september october november december",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "januar februar marz april mai juni juli august september oktober november dezember",
    "janeiro fevereiro marco abril maio junho julho agosto setembro outubro novembro dezembro",
)


def _month_table() -> dict[str, int]:
    """Every month name and every prefix of three letters or more that names one month only."""
    found: dict[str, set[int]] = {}
    for names in _MONTH_NAMES:
        for number, name in enumerate(names.split(), start=1):
            for end in range(3, len(name) + 1):
                found.setdefault(name[:end], set()).add(number)
    table = {prefix: next(iter(months)) for prefix, months in found.items() if len(months) == 1}
    return {**table, "mrz": 3, "setiembre": 9}  # German "Mrz"; Spanish "setiembre"


_MONTHS = _month_table()
_WEEKDAY_NAMES = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "lunedi martedi mercoledi giovedi venerdi sabato domenica",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "lunes martes miercoles jueves viernes sabado domingo",
    "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag",
    "segunda terca quarta quinta sexta sabado domingo",
)
_WEEKDAYS = [name for names in _WEEKDAY_NAMES for name in names.split()]
_ZONES = {  # the zone names feeds write, as RFC 822 offsets
    **dict.fromkeys(("ut", "utc", "gmt", "z", "wet", "wez"), "+0000"),
    **dict.fromkeys(("west", "wesz", "bst", "cet", "met", "mez"), "+0100"),
    **dict.fromkeys(("cest", "mest", "mesz", "eet", "oez"), "+0200"),
    **dict.fromkeys(("eest", "oesz", "msk"), "+0300"),
    **{"brst": "-0200", "brt": "-0300", "art": "-0300", "adt": "-0300", "ast": "-0400", "edt": "-0400"},
    **{"est": "-0500", "cdt": "-0500", "cst": "-0600", "mdt": "-0600", "mst": "-0700", "pdt": "-0700"},
    "pst": "-0800",
}
_FILLERS = {"de", "del", "le", "am", "um", "uhr", "der", "den", "alle", "ore", "a", "as", "at", "el", "h"}
_DATE_TOKEN = re.compile(
    r"(?P<clock>\d{1,2}[:h.]\d{2}(?:[:.]\d{2})?)(?!\d)"
    r"|(?P<offset>(?:(?<=\s)|^)[+-]\d{2}:?\d{2}(?!\d)|\b(?:gmt|utc|ut)[+-]\d{1,2}(?::?\d{2})?(?!\d))"
    r"|(?P<number>\d+)"
    r"|(?P<word>[a-z]+)"
)
_ENGLISH = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _weekday(word: str) -> bool:
    return len(word) >= 2 and any(name.startswith(word) for name in _WEEKDAYS)


def _offset(token: str) -> str:
    """``+0100``, ``-03:00``, ``gmt+1``, ``utc-05:30`` as ``+HHMM``."""
    parts = re.fullmatch(r"[a-z]*([+-])(\d{1,2}):?(\d{2})?", token)
    sign, hours, minutes = parts.groups() if parts else ("", "99", "")
    if int(hours) > 14 or int(minutes or 0) > 59:
        raise ValueError(f"no such time zone offset {token!r}")
    return f"{sign}{int(hours):02d}{minutes or '00'}"


def feed_date(value: str) -> datetime:
    """A date with day and month names, in English, Italian, French, Spanish, German or Portuguese, in UTC.

    The RFC 822 shapes news feeds use, with or without the weekday, names full or
    cut (``mer, 16 nov 2022 00:38:15 +0100``, ``Mittwoch, 16. November 2022
    00:38 MEZ``, ``16 de noviembre de 2022 00:38:15 -0300``), with an offset or a
    zone name. It is translated to English RFC 822 and read by ``email.utils``.
    A date alone is midnight UTC, as feedparser takes it; a time without a zone
    cannot be placed. Raises ``ValueError`` saying what is wrong.
    """
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().casefold()
    text = re.sub(r"-feira\b", "", re.sub(r"\([^()]*\)", " ", text))  # "(CET)" comments; "segunda-feira"
    parts = _DateParts()
    for token in _DATE_TOKEN.finditer(text):
        kind, part = next((k, v) for k, v in token.groupdict().items() if v is not None)
        if not parts.take(kind, part):
            raise ValueError(f"cannot read {value!r}: unexpected {part!r}")
    return parts.moment(value)


@dataclass
class _DateParts:
    """What ``feed_date`` found in a date, token by token: the first of each kind counts."""

    day: str | None = None
    year: str | None = None
    clock: str | None = None
    zone: str | None = None
    words: list[str] = field(default_factory=list)

    def take(self, kind: str, part: str) -> bool:
        """Note one token; ``False`` if it fits nowhere (a second time or a second zone offset, a stray number)."""
        if kind == "word":
            self._word(part)
            return True
        if kind == "number":
            return self._number(part)
        if kind == "clock" and self.clock is None:
            self.clock = re.sub(r"[h.]", ":", part)
            return True
        if kind == "offset" and self.zone is None:
            self.zone = _offset(part)
            return True
        return False

    def _number(self, part: str) -> bool:
        if len(part) <= 2 and self.day is None:
            self.day = part
        elif len(part) in (2, 4) and self.year is None:
            self.year = part
        else:
            return False
        return True

    def _word(self, part: str) -> None:
        if part in _ZONES:
            self.zone = self.zone or _ZONES[part]  # "+0100 CET" names it twice
        elif part not in _FILLERS:
            self.words.append(part)

    def moment(self, value: str) -> datetime:
        words = self.words
        if len(words) > 1 and _weekday(words[0]):
            words = words[1:]  # "mar, 15 nov": the leading name is the weekday (martedi), not March
        if len(words) != 1 or words[0] not in _MONTHS:
            raise ValueError(
                f"cannot read {value!r}: expected one month name and no other word, found {words}"
            )
        if self.day is None or self.year is None:
            raise ValueError(f"cannot read {value!r}: no day or no year")
        if self.clock is not None and self.zone is None:
            raise ValueError(f"cannot read {value!r}: a time without a time zone")
        month = _ENGLISH[_MONTHS[words[0]] - 1]
        english = f"{self.day} {month} {self.year} {self.clock or '00:00'} {self.zone or '+0000'}"
        try:
            return parsedate_to_datetime(english).astimezone(UTC)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot read {value!r}: {exc}") from None
