"""Accounting: invoices and payment records from the payments service's webhooks and LiqPay callbacks; reconciliation."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="accounting",
    port=8033,
    title="Accounting",
    teaches="integration practice: payments ↔ accounting — invoices and payment records created from the "
            "payments service's signed webhooks (payment_intent.created, .succeeded, charge.refunded), a "
            "LiqPay-style callback (`data` = base64 JSON, `signature` = base64 SHA-1 of private key + data + "
            "private key) verified before it counts, reconciliation of payments against invoices with every "
            "mismatch named, and a daily report as CSV",
    about="бухгалтерія: рахунки й платежі з вебхуків payments і з callback у стилі LiqPay, звірка, звіт CSV",
    notebooks="08",
    needs=("payments",),
)
