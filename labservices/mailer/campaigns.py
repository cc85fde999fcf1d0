"""Campaigns: written, sent over SMTP to each subscribed member, and followed (opens, clicks, unsubscribes).

Each email carries links of its own (a token per member and campaign): an image that is fetched
when the email is opened (``/t/o/{token}.gif``), every link of the content rewritten to pass through
``/t/c/{token}/{n}`` (then 302 to the original address; only addresses of the campaign's content,
so the mailer is not an open redirect), and an unsubscribe link. What the members do becomes
activity and, for audiences with webhooks, signed webhooks.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from html import escape

from labservices.common import ApiError
from labservices.common.clock import iso

from . import delivery
from .store import Store, recipients

LINK = re.compile(r"""https?://[^\s"'<>]+""")
PIXEL = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


class Campaigns:
    def __init__(self, store: Store) -> None:
        self.store = store

    def list(self) -> list[dict]:
        with self.store.db.tx() as conn:
            return [_campaign(r) for r in conn.execute("SELECT * FROM campaigns ORDER BY created_at DESC")]

    def get(self, campaign_id: str) -> dict:
        with self.store.db.tx() as conn:
            return _campaign(_found(conn, campaign_id))

    def create(self, body: dict) -> dict:
        campaign_id = secrets.token_hex(5)
        recipients_ = body["recipients"]
        segment_id = (recipients_.get("segment_opts") or {}).get("saved_segment_id")
        with self.store.db.tx() as conn:
            recipients(conn, recipients_["list_id"], segment_id)  # 404 for an unknown audience or segment
            conn.execute("INSERT INTO campaigns (id, list_id, segment_id, settings, status, created_at) VALUES "
                         "(?,?,?,?, 'save', ?)", (campaign_id, recipients_["list_id"], segment_id,
                                                  json.dumps(body["settings"], ensure_ascii=False), time.time()))
            return _campaign(_found(conn, campaign_id))

    def content(self, campaign_id: str) -> tuple[str, str]:
        with self.store.db.tx() as conn:
            row = _found(conn, campaign_id)
            return row["plain_text"], row["html"]

    def set_content(self, campaign_id: str, plain_text: str, html: str) -> dict:
        if not plain_text and not html:
            raise ApiError(400, "VALIDATION_ERROR", "Лист порожній", [{"field": "plain_text", "message": "Потрібен текст або html",
                                                                   "type": "conflicting_values"}])
        with self.store.db.tx() as conn:
            if _found(conn, campaign_id)["status"] != "save":
                raise ApiError(409, "CAMPAIGN_SENT", "Надіслану кампанію змінити не можна")
            conn.execute("UPDATE campaigns SET plain_text = ?, html = ? WHERE id = ?", (plain_text, html, campaign_id))
            return {"plain_text": plain_text, "html": html}

    def start_sending(self, campaign_id: str, max_recipients: int) -> tuple[dict, list[dict]]:
        """Mark the campaign sending and hand out a token per recipient: (campaign, letters to send)."""
        with self.store.db.tx() as conn:
            row = _found(conn, campaign_id)
            if row["status"] != "save":
                raise ApiError(409, "CAMPAIGN_SENT", f"Кампанію {campaign_id} вже надіслано")
            if not row["plain_text"] and not row["html"]:
                raise ApiError(400, "NO_CONTENT", "Спершу додайте вміст: PUT /3.0/campaigns/{id}/content")
            members = recipients(conn, row["list_id"], row["segment_id"])
            if len(members) > max_recipients:
                raise ApiError(400, "TOO_MANY_RECIPIENTS", f"У пісочниці кампанія йде щонайбільше {max_recipients} адресатам")
            defaults = json.loads(conn.execute("SELECT defaults FROM lists WHERE id = ?", (row["list_id"],)).fetchone()[0])
            letters = []
            for member in members:
                token = secrets.token_urlsafe(12)
                conn.execute("INSERT INTO sends VALUES (?,?,?,?,?,?)", (token, campaign_id, row["list_id"], member["id"],
                                                                        member["email"], time.time()))
                letters.append({"token": token, "email": member["email"], "member_id": member["id"],
                                "merge_fields": json.loads(member["merge_fields"])})
            conn.execute("UPDATE campaigns SET status = 'sending', send_time = ? WHERE id = ?", (time.time(), campaign_id))
            return {**_campaign(_found(conn, campaign_id)), "defaults": defaults}, letters

    def finish_sending(self, campaign_id: str, sent: int) -> None:
        with self.store.db.tx() as conn:
            conn.execute("UPDATE campaigns SET status = 'sent', emails_sent = ? WHERE id = ?", (sent, campaign_id))

    def report(self, campaign_id: str) -> dict:
        with self.store.db.tx() as conn:
            row = _found(conn, campaign_id)
            counts = {a: (total, unique) for a, total, unique in conn.execute(
                "SELECT action, COUNT(*), COUNT(DISTINCT member_id) FROM activity WHERE campaign_id = ? GROUP BY action",
                (campaign_id,))}
            sent = row["emails_sent"] or 0
            opens, clicks = counts.get("open", (0, 0)), counts.get("click", (0, 0))
            rate = lambda n: round(n / sent, 4) if sent else 0.0  # noqa: E731
            return {"id": campaign_id, "campaign_title": json.loads(row["settings"]).get("title", ""),
                    "list_id": row["list_id"], "emails_sent": sent,
                    "opens": {"opens_total": opens[0], "unique_opens": opens[1], "open_rate": rate(opens[1])},
                    "clicks": {"clicks_total": clicks[0], "unique_clicks": clicks[1], "click_rate": rate(clicks[1])},
                    "unsubscribed": counts.get("unsubscribe", (0, 0))[1]}

    def email_activity(self, campaign_id: str) -> list[dict]:
        with self.store.db.tx() as conn:
            _found(conn, campaign_id)
            rows = conn.execute("SELECT * FROM activity WHERE campaign_id = ? ORDER BY id", (campaign_id,))
            return [{"email_address": r["email"], "action": r["action"], "url": r["url"], "timestamp": iso(r["at"], ms=True)}
                    for r in rows]

    # --- tracking -----------------------------------------------------------------------------

    def track(self, token: str, action: str, link: int | None = None) -> str | None:
        """Record what a member did through their token; the click's target URL (None for others)."""
        with self.store.db.tx() as conn:
            send = conn.execute("SELECT * FROM sends WHERE token = ?", (token,)).fetchone()
            if send is None:
                raise ApiError(404, "NOT_FOUND", "Невідоме посилання")
            url = None
            if action == "click":
                row = _found(conn, send["campaign_id"])
                links = _links(row["html"] or row["plain_text"])
                if link is None or not 0 <= link < len(links):
                    raise ApiError(404, "NOT_FOUND", "Такого посилання в листі немає")
                url = links[link]
            conn.execute("INSERT INTO activity (campaign_id, list_id, member_id, email, action, url, at) VALUES "
                         "(?,?,?,?,?,?,?)", (send["campaign_id"], send["list_id"], send["member_id"], send["email"],
                                             action, url, time.time()))
            if action == "unsubscribe":
                self.store.set_status(conn, send["list_id"], send["member_id"], "unsubscribed")
            data = {"campaign_id": send["campaign_id"], "id": send["member_id"], "email": send["email"]}
            delivery.emit(conn, send["list_id"], action, {**data, **({"url": url} if url else {})})
            return url


def _links(content: str) -> list[str]:
    return list(dict.fromkeys(LINK.findall(content)))


def letter(campaign: dict, content: tuple[str, str], recipient: dict, base: str) -> tuple[str, str | None]:
    """The text and HTML one member gets: merge tags filled in, links tracked, a pixel and an unsubscribe link."""
    plain, html = content
    fields = {"EMAIL": recipient["email"], **recipient["merge_fields"]}
    fill = lambda s: re.sub(r"\*\|([A-Z0-9_]+)\|\*", lambda m: str(fields.get(m.group(1), "")), s)  # noqa: E731
    links = _links(html or plain)
    tracked = lambda s: LINK.sub(lambda m: f"{base}/t/c/{recipient['token']}/{links.index(m.group(0))}"  # noqa: E731
                                 if m.group(0) in links else m.group(0), s)
    unsubscribe = f"{base}/t/u/{recipient['token']}"
    text = tracked(fill(plain or re.sub(r"<[^>]+>", "", html))) + f"\n\n--\nВідписатися: {unsubscribe}\n"
    if not html:
        return text, None
    page = (tracked(fill(html)) + f'<p><a href="{escape(unsubscribe)}">Відписатися</a></p>'
            f'<img src="{escape(base)}/t/o/{recipient["token"]}.gif" width="1" height="1" alt="">')
    return text, page


def _found(conn, campaign_id: str):
    row = conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)).fetchone()
    if row is None:
        raise ApiError(404, "NOT_FOUND", f"Кампанії {campaign_id} немає")
    return row


def _campaign(row) -> dict:
    segment = {"saved_segment_id": row["segment_id"]} if row["segment_id"] is not None else None
    return {"id": row["id"], "type": "regular", "status": row["status"], "emails_sent": row["emails_sent"],
            "recipients": {"list_id": row["list_id"], "segment_opts": segment},
            "settings": json.loads(row["settings"]), "create_time": iso(row["created_at"]),
            "send_time": iso(row["send_time"]) if row["send_time"] else None}
