"""The text students read at /docs: the shop's description and one line per tag."""

DESCRIPTION = """
The REST examples of lecture 06 ("Інтеграція систем та API"), live. Every request in the
lecture works here as written: `GET /api/users/12345`, `POST /api/orders`,
`GET /api/products?category=electronics&price_max=1000&sort=price_asc`,
`GET /api/customers/123/orders/456`, `DELETE /api/orders/98765`, `POST /oauth/token`...

### Credentials (sandbox only: `GET /api/credentials` lists them all)
| how | value | role |
|---|---|---|
| `X-API-Key` or `?apikey=` | `abc123def456` | reader |
| | `manager-key-456` | manager |
| | `admin-key-789` | admin |
| | `ratelimit-demo-key` (5 requests per 10 s) | reader |
| `POST /oauth/token` | `my_app` / `secret123` | manager |
| | `reader_app` / `reader-secret`, `admin_app` / `admin-secret` | reader, admin |
| | `short_lived_app` / `short-secret` (tokens live 5 s) | manager |
| Basic | `ivan_petrenko` / `ivan-password` (moderator), `olena_kovalenko` / `olena-password` (admin), `username` / `password` (user) | |

Roles grant scopes: reader and user → `read`; moderator and manager → `read write`; admin →
`read write admin`. No credentials → **401** with `WWW-Authenticate`; credentials without the
scope → **403**. The product catalogue is open to everyone.

### Versions
`/api/...` is version 1. Ask for version 2 with `/api/v2/...`, `Accept: application/vnd.company.v2+json`
or `?version=2`; the `API-Version` header says which version answered. In v2 a product's `price`
is `{"amount", "currency"}` and a user's `profile` fields are at the top level.

### Lists, limits and retries
Lists answer `{"data": [...], "pagination": {"page", "per_page", "total", "total_pages"}}` with a
`Link` header (first, prev, next, last); `limit` (alias `per_page`) is at most 100. Every key,
client and user may send 60 requests a minute (`SHOP_RATE_LIMIT_PER_MINUTE`; `X-RateLimit-*` headers,
429 with `Retry-After`).
`POST /api/orders` accepts `Idempotency-Key`; single users and products carry an `ETag` for
`If-None-Match` (304) and `If-Match` (412 when stale).
"""

TAGS = [
    {"name": "Users", "description": "The lecture's user: GET, POST, PUT (full), PATCH (partial), DELETE, and /me."},
    {"name": "Customers", "description": "Customers and their orders, as nested URLs."},
    {"name": "Products", "description": "The catalogue: filters, sorting, pages; open for reading."},
    {"name": "Orders", "description": "Orders: filters, status changes, Idempotency-Key."},
    {"name": "Weather", "description": "The lecture's API-key example."},
    {"name": "OAuth 2.0", "description": "Client-credentials grant: trade client_id and secret for a JWT."},
    {"name": "Sandbox", "description": "The sandbox's credentials, in the open for teaching."},
]
