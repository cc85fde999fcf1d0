"""Campaigns go out over SMTP to the mailbox; opens and clicks come back as reports and signed webhooks."""
from __future__ import annotations

import json
import secrets

import requests
from standardwebhooks.webhooks import Webhook

from labkit.procs import wait_until
from tests.mailer.conftest import LIST, Mailer, md5


def _audience(mailer: Mailer, n: int, **fields) -> list[str]:
    emails = [f"r{secrets.token_hex(4)}@example.com" for _ in range(n)]
    for email in emails:
        mailer.put(f"/3.0/lists/{LIST}/members/{md5(email)}", json={"email_address": email,
                                                                     "merge_fields": {"FNAME": "Олена", **fields}})
    return emails


def _campaign(mailer: Mailer, segment: int | None = None) -> str:
    recipients = {"list_id": LIST, **({"segment_opts": {"saved_segment_id": segment}} if segment else {})}
    campaign = mailer.post("/3.0/campaigns", json={"type": "regular", "recipients": recipients, "settings": {
        "subject_line": "Весняний розпродаж", "title": "spring"}}).json()
    mailer.put(f"/3.0/campaigns/{campaign['id']}/content", json={
        "plain_text": "Привіт, *|FNAME|*! Знижки тут: https://shop.example.com/sale",
        "html": '<p>Привіт, *|FNAME|*!</p><a href="https://shop.example.com/sale">Знижки</a>'})
    return campaign["id"]


def test_a_campaign_reaches_each_member_of_its_segment_with_merge_tags_filled(mailer: Mailer):
    city = f"Тест{secrets.token_hex(2)}"
    emails = _audience(mailer, 2, CITY=city)
    segment = mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": city, "options": {
        "conditions": [{"field": "merge_fields.CITY", "value": city}]}}).json()["id"]
    campaign = _campaign(mailer, segment)
    assert mailer.post(f"/3.0/campaigns/{campaign}/actions/send").status_code == 204
    assert mailer.get(f"/3.0/campaigns/{campaign}").json()["status"] == "sent"
    for email in emails:
        [message] = mailer.inbox(email)
        assert message["Subject"] == "Весняний розпродаж"
        text = mailer.message(message["ID"])["Text"]
        assert "Привіт, Олена!" in text and "/t/c/" in text and "Відписатися" in text
    again = mailer.post(f"/3.0/campaigns/{campaign}/actions/send")
    assert again.status_code == 409 and again.json()["error"]["code"] == "CAMPAIGN_SENT"


def test_opens_and_clicks_are_reported_and_clicks_redirect_to_the_campaigns_link(mailer: Mailer):
    [email] = _audience(mailer, 1)
    campaign = mailer.post("/3.0/campaigns", json={"recipients": {"list_id": LIST, "segment_opts": {
        "saved_segment_id": mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "one", "static_segment": [email]}
                                        ).json()["id"]}}, "settings": {"subject_line": "Один"}}).json()["id"]
    mailer.put(f"/3.0/campaigns/{campaign}/content", json={"html": '<a href="https://shop.example.com/sale">Знижки</a>'})
    mailer.post(f"/3.0/campaigns/{campaign}/actions/send")
    html = mailer.message(mailer.inbox(email)[0]["ID"])["HTML"]
    pixel = next(link for link in Mailer.links(html.replace('"', " ")) if link.endswith(".gif"))
    click = next(link for link in Mailer.links(html.replace('"', " ")) if "/t/c/" in link)
    assert requests.get(pixel, timeout=10).headers["content-type"] == "image/gif"
    redirect = requests.get(click, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302 and redirect.headers["location"] == "https://shop.example.com/sale"
    report = mailer.get(f"/3.0/reports/{campaign}").json()
    assert report["emails_sent"] == 1 and report["opens"]["unique_opens"] == 1 and report["clicks"]["click_rate"] == 1.0
    member = mailer.get(f"/3.0/lists/{LIST}/members/{md5(email)}").json()
    assert member["stats"] == {"opens": 1, "clicks": 1}
    assert requests.get(click.rsplit("/", 1)[0] + "/7", allow_redirects=False, timeout=10).status_code == 404


def test_open_and_unsubscribe_webhooks_are_signed_and_retried_until_2xx(mailer: Mailer, receiver):
    [email] = _audience(mailer, 1)
    hook = mailer.post(f"/3.0/lists/{LIST}/webhooks", json={"url": receiver.url, "events": {
        "open": True, "unsubscribe": True}}).json()
    try:
        receiver.answer(500, then=200)
        campaign = mailer.post("/3.0/campaigns", json={"recipients": {"list_id": LIST, "segment_opts": {
            "saved_segment_id": mailer.post(f"/3.0/lists/{LIST}/segments", json={"name": "w", "static_segment": [email]}
                                            ).json()["id"]}}, "settings": {"subject_line": "Вебхук"}}).json()["id"]
        mailer.put(f"/3.0/campaigns/{campaign}/content", json={"html": "<p>Привіт</p>"})
        mailer.post(f"/3.0/campaigns/{campaign}/actions/send")
        links = Mailer.links(mailer.message(mailer.inbox(email)[0]["ID"])["HTML"].replace('"', " "))
        requests.get(next(u for u in links if u.endswith(".gif")), timeout=10)
        first, second = receiver.wait_for(2)[:2]
        assert first.event_id == second.event_id  # the same delivery, tried again
        payload = Webhook(hook["secret"]).verify(second.body, second.headers)
        assert payload["type"] == "open" and payload["data"]["email"] == email and payload["data"]["id"] == md5(email)
        requests.get(next(u for u in links if "/t/u/" in u), timeout=10)
        third = receiver.wait_for(3)[2]
        assert json.loads(third.body)["type"] == "unsubscribe"
        assert mailer.get(f"/3.0/lists/{LIST}/members/{md5(email)}").json()["status"] == "unsubscribed"
        assert wait_until(lambda: [d["status"] for d in mailer.get(
            f"/3.0/lists/{LIST}/webhooks/{hook['id']}/deliveries").json()["deliveries"]] == ["succeeded"] * 2, timeout=10)
    finally:
        mailer.delete(f"/3.0/lists/{LIST}/webhooks/{hook['id']}")


def test_a_campaign_needs_content_and_an_existing_audience(mailer: Mailer):
    empty = mailer.post("/3.0/campaigns", json={"recipients": {"list_id": LIST}, "settings": {"subject_line": "x"}}).json()
    resp = mailer.post(f"/3.0/campaigns/{empty['id']}/actions/send")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "NO_CONTENT"
    assert mailer.post("/3.0/campaigns", json={"recipients": {"list_id": "ffffffffff"},
                                               "settings": {"subject_line": "x"}}).status_code == 404


def test_a_transactional_message_is_sent_now_and_its_message_id_kept_once(mailer: Mailer):
    token = secrets.token_hex(4)
    email = f"tx{token}@example.com"
    body = {"key": "mc-lab-key-0000-us1", "message": {
        "subject": "Замовлення 42 підтверджено", "text": "Дякуємо!", "from_name": "Магазин",
        "to": [{"email": email}], "headers": {"Message-Id": f"<order-42.{token}@shop.example.com>"}}}
    for _ in range(2):
        sent = requests.post(mailer.url + "/api/1.0/messages/send", json=body, timeout=10)
        assert sent.status_code == 200 and sent.json() == [
            {"email": email, "status": "sent", "_id": f"order-42.{token}@shop.example.com", "reject_reason": None}]
    [message] = mailer.inbox(email)
    assert message["Subject"] == "Замовлення 42 підтверджено" and "Магазин" in message["From"]["Name"]
    odd = {**body, "message": {**body["message"], "to": [{"email": "(a)@example.com"}, {"email": email}]}}
    results = requests.post(mailer.url + "/api/1.0/messages/send", json=odd, timeout=10).json()
    assert [r["status"] for r in results] == ["rejected", "sent"] and results[0]["reject_reason"] == "invalid"
    wrong = requests.post(mailer.url + "/api/1.0/messages/send", json={**body, "key": "nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "INVALID_API_KEY"
