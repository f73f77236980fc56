"""The demo's scripted conversation: two days of talk about Caffè Aurora, a fictional Milan roaster.

Written for this project (no third-party text). Aurora launches a new blend and
an ordering app; people like the coffee, dislike the new prices, and the app
breaks on day two. Italian and English, on X and Reddit, with some unrelated
chatter in the subreddit streams that the watches must leave out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from listener.demo.redditserver import RedditServer
from listener.demo.xserver import XServer

__all__ = ["BRAND_ACCOUNT", "REDDIT_ACCOUNT", "load"]

BRAND_ACCOUNT = "caffe_aurora"
REDDIT_ACCOUNT = "aurora_official"

# (minutes after the start, author, language, text, index of the post it replies to or None)
X_POSTS: list[tuple[int, str, str, str, int | None]] = [
    (
        0,
        "caffe_aurora",
        "it",
        "Da oggi nei nostri bar c'è Alba, la nuova miscela di Caffè Aurora: note di nocciola e "
        "cacao. E potete ordinarla dalla nuova app! #caffeaurora",
        None,
    ),
    (
        12,
        "giulia_mi",
        "it",
        "Provata ora la miscela Alba da Caffè Aurora in via Tortona. Cremosa, buonissima.",
        0,
    ),
    (
        25,
        "tom_in_milan",
        "en",
        "Tourist tip: Caffè Aurora near the Duomo does a proper espresso. The new Alba blend is smooth.",
        None,
    ),
    (
        40,
        "marco_b",
        "it",
        "@caffe_aurora ma l'espresso a 1,60€? Con la nuova miscela avete alzato i prezzi di 30 centesimi.",
        0,
    ),
    (
        46,
        "caffe_aurora",
        "it",
        "@marco_b ciao Marco, il prezzo include la nuova tostatura: la tazza classica resta a 1,30€.",
        3,
    ),
    (
        58,
        "sara_k",
        "it",
        "Caffè Aurora resta il mio bar preferito, ma 1,60 per un caffè è troppo. Mai più Alba.",
        None,
    ),
    (
        75,
        "lena_travels",
        "en",
        "Ordered through the Caffè Aurora app and it was ready when I walked in. Neat.",
        None,
    ),
    (90, "paolo_r", "it", "Qualcuno sa se Caffè Aurora apre anche a Torino? #caffeaurora", None),
    (96, "caffe_aurora", "it", "@paolo_r a marzo, in piazza Vittorio!", 7),
    (
        130,
        "chiara_dev",
        "it",
        "La app di Caffè Aurora chiede il numero di telefono per ordinare un cappuccino. Perché?",
        None,
    ),
    (
        160,
        "nick_coffee",
        "en",
        "Caffè Aurora's Alba blend: hazelnut up front, a bit flat as a flat white. Fine, not great.",
        None,
    ),
    (200, "ale_ferri", "it", "Colazione da Caffè Aurora: cornetto e Alba. Domenica perfetta.", None),
    (
        1440,
        "fede_92",
        "it",
        "L'app di Caffè Aurora è giù da stamattina, ordine pagato e mai arrivato. Voglio il rimborso.",
        None,
    ),
    (
        1448,
        "marta_l",
        "it",
        "Anche a me! App Caffè Aurora bloccata, addebito doppio. @caffe_aurora rimborso?",
        12,
    ),
    (
        1455,
        "caffe_aurora",
        "it",
        "Ci scusiamo: l'app ha un guasto dalle 7. Gli ordini addebitati due volte saranno "
        "rimborsati entro 48 ore.",
        None,
    ),
    (
        1462,
        "jamie_l",
        "en",
        "The Caffè Aurora app charged me twice this morning. Refund please @caffe_aurora",
        None,
    ),
    (
        1470,
        "caffe_aurora",
        "en",
        "@jamie_l sorry Jamie, double charges are being refunded within 48 hours.",
        15,
    ),
    (
        1500,
        "giorgio_v",
        "it",
        "Scandalo Caffè Aurora: app in tilt e nessuno risponde al telefono. #caffeaurora",
        None,
    ),
    (
        1530,
        "fede_92",
        "it",
        "@caffe_aurora rimborso arrivato, grazie. Ma la prossima volta pago alla cassa.",
        14,
    ),
    (
        1600,
        "anna_c",
        "it",
        "Nonostante l'app, il cappuccino di Caffè Aurora resta il migliore del quartiere.",
        None,
    ),
    (1660, "mike_r", "en", "Is Caffè Aurora worth a visit? Heard mixed things about their prices.", None),
    (
        1700,
        "luca_p",
        "it",
        "Oggi niente app: ho ordinato al banco da Caffè Aurora ed è andata benissimo.",
        None,
    ),
    (1900, "sofia_t", "it", "Bella la nuova tazza di Caffè Aurora con il sole che sorge #caffeaurora", None),
    (2100, "ben_w", "en", "Caffè Aurora app works again. Ordered an Alba to go, no issues.", None),
]

# Reddit: (minutes, subreddit, author, title, body) for submissions; comments refer to them by index.
SUBMISSIONS: list[tuple[int, str, str, str, str]] = [
    (
        30,
        "italy",
        "milanese_doc",
        "Caffè Aurora ha alzato i prezzi con la nuova miscela?",
        "Ieri l'espresso costava 1,30, oggi con la miscela Alba 1,60. Succede anche da voi?",
    ),
    (
        180,
        "Coffee",
        "beanbrain",
        "Anyone tried Caffè Aurora's new Alba blend?",
        "Passing through Milan next week. Worth going out of my way for it?",
    ),
    (
        1470,
        "italy",
        "ordini_falliti",
        "App di Caffè Aurora down: come avere il rimborso",
        "Se vi hanno addebitato due volte, scrivete al supporto dall'app: rispondono in giornata.",
    ),
    (600, "italy", "gatto_nero", "Consigli per un weekend a Bologna?", "Cerco trattorie non turistiche."),
]
# (minutes, index of the submission, author, body, index of the parent comment or None)
COMMENTS: list[tuple[int, int, str, str, int | None]] = [
    (45, 0, "brera_boy", "Sì, anche in Brera. Però la tazza classica è rimasta a 1,30.", None),
    (60, 0, "lucia_rm", "Per me Caffè Aurora vale i 30 centesimi in più, la miscela è ottima.", 0),
    (70, 0, "teo", "Mai più da Caffè Aurora a quei prezzi, torno al bar sotto casa.", None),
    (
        200,
        1,
        "espresso_andy",
        "Yes! Caffè Aurora in Brera. Get the Alba as a plain espresso, skip the milk.",
        None,
    ),
    (240, 1, "roastnerd", "It's a decent blend but I prefer their single origin. Prices went up, fyi.", 3),
    (620, 3, "emilia_fan", "Da Gianni in via del Pratello, e i tortellini in brodo ovunque.", None),
    (1480, 2, "marta_l", "Confermo, mi hanno risposto in due ore. Rimborso già arrivato.", None),
    (
        1490,
        2,
        "teo",
        "Scandalo comunque: l'app di Caffè Aurora è stata giù mezza giornata. u/aurora_official?",
        None,
    ),
    (1500, 2, "aurora_official", "Ci dispiace: il guasto è risolto e i rimborsi partono oggi.", 7),
    (1510, 3, "gatto_nero", "Grazie! Segno tutto.", 5),
]


def load(x: XServer, reddit: RedditServer, start: datetime) -> int:
    """Put the conversation on the two servers, ``start`` being its first minute; return how many items."""
    ids: list[str] = []
    for minutes, author, lang, text, reply in X_POSTS:
        reply_to = ids[reply] if reply is not None else None
        ids.append(x.add_post(author, text, start + timedelta(minutes=minutes), lang=lang, reply_to=reply_to,
                              likes=len(text) % 17))  # fmt: skip
    x.add_user(BRAND_ACCOUNT, "Caffè Aurora")
    posts = [reddit.add_submission(sub, author, title, start + timedelta(minutes=m), selftext=body, score=len(title) % 40)
             for m, sub, author, title, body in SUBMISSIONS]  # fmt: skip
    comments: list[str] = []
    for minutes, post, author, body, parent in COMMENTS:
        under = comments[parent] if parent is not None else posts[post]
        comments.append(reddit.add_comment(under, author, body, start + timedelta(minutes=minutes)))
    return len(ids) + len(posts) + len(comments)
