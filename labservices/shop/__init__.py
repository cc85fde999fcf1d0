"""The shop: lecture 06's REST examples as a live API (users, customers, products, orders, weather, OAuth)."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="shop",
    port=8001,
    title="Shop API",
    teaches="REST: methods and their semantics, status codes, URL design, filters, pagination, auth (API key, "
            "Basic, OAuth2 client credentials → JWT), the error envelope, versioning, rate limits, idempotency "
            "keys, ETags",
    about="REST API інтернет-магазину з лекції: користувачі, клієнти, товари, замовлення; автентифікація, "
          "помилки, версії",
    notebooks="00, 01, 02; ex01, ex02",
)
