"""Mailer: a Mailchimp-like email marketing service (audiences, members, tags, segments, campaigns, webhooks)."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="mailer",
    port=8031,
    title="Mailer (Mailchimp-like)",
    teaches="integration practice: email marketing in Mailchimp's Marketing API shape (`/3.0/lists`, members "
            "addressed by the MD5 of the lower-cased email, add-or-update with PUT, tags, segments by tag or "
            "merge field, campaigns sent over SMTP to the lab's mailbox); opens and clicks are tracked and "
            "delivered as Standard Webhooks-signed webhooks, retried until the receiver answers 2xx",
    about="email-розсилки на зразок Mailchimp: аудиторії, підписники (id = MD5 email), сегменти, кампанії, "
          "вебхуки про відкриття й кліки",
    notebooks="08",
    needs=("mailbox",),
)
