"""The read model and how each event changes it: order-insensitive and replayable.

Each order is one row of facts (created, paid, refunded, shipped, cancelled) that any event may
set, in any order; the statistics are queries over those facts, never counters kept by hand. So
a duplicate changes nothing (the inbox stops it), an event that comes early finds its row, and a
replay of the whole history from Kafka gives the same numbers as the live events did.
"""
from __future__ import annotations

from labservices.common.events import Event
from labservices.common.events import contracts as c

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    day TEXT,
    total INTEGER,
    paid INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    shipped INTEGER NOT NULL DEFAULT 0,
    cancelled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT
);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    title TEXT,
    quantity INTEGER NOT NULL,
    unit_price INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
);
CREATE TABLE IF NOT EXISTS seen (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    events INTEGER NOT NULL,
    last_event_time TEXT
);
"""
TABLES = ("orders", "order_lines", "seen")


def _order(tx, order_id: str) -> None:
    tx.execute("INSERT OR IGNORE INTO orders (order_id) VALUES (?)", (order_id,))


def apply(tx, event: Event) -> None:
    """Fold one event into the read model."""
    tx.execute("INSERT INTO seen (id, events, last_event_time) VALUES (1, 1, ?) ON CONFLICT(id) DO UPDATE SET "
               "events = events + 1, last_event_time = MAX(COALESCE(last_event_time, ''), excluded.last_event_time)",
               (event.time,))
    if event.type == "OrderCreated":
        order = event.parse(c.OrderCreated)
        _order(tx, order.order_id)
        tx.execute("UPDATE orders SET day = ?, total = ?, created_at = ? WHERE order_id = ?",
                   (event.time[:10], order.total, event.time, order.order_id))
        tx.executemany("INSERT OR REPLACE INTO order_lines VALUES (?,?,?,?,?)",
                       [(order.order_id, line.sku, line.title, line.quantity, line.unit_price or 0)
                        for line in order.items])
    elif event.type == "OrderConfirmed":  # a shop order the integration middleware saw through (notebook 08)
        confirmed = event.parse(c.OrderConfirmed)
        _order(tx, confirmed.order_id)
        tx.execute("UPDATE orders SET day = ?, total = ?, paid = ?, created_at = ? WHERE order_id = ?",
                   (event.time[:10], round(confirmed.total), confirmed.paid, event.time, confirmed.order_id))
        tx.executemany("INSERT OR REPLACE INTO order_lines VALUES (?,?,?,?,?)",
                       [(confirmed.order_id, line.sku, line.title, line.quantity, line.unit_price or 0)
                        for line in confirmed.items])
    elif event.type == "PaymentProcessed":
        paid = event.parse(c.PaymentProcessed)
        _order(tx, paid.order_id)
        tx.execute("UPDATE orders SET paid = ? WHERE order_id = ?", (paid.amount, paid.order_id))
    elif event.type == "PaymentRefunded":
        order_id = str(event.data.get("order_id"))
        _order(tx, order_id)
        tx.execute("UPDATE orders SET refunded = ? WHERE order_id = ?", (int(event.data.get("amount") or 0), order_id))
    elif event.type == "OrderShipped":
        _order(tx, event.parse(c.OrderShipped).order_id)
        tx.execute("UPDATE orders SET shipped = 1 WHERE order_id = ?", (event.data["order_id"],))
    elif event.type == "OrderCancelled":
        _order(tx, event.parse(c.OrderCancelled).order_id)
        tx.execute("UPDATE orders SET cancelled = 1 WHERE order_id = ?", (event.data["order_id"],))


def summary(conn) -> dict:
    row = conn.execute(
        "SELECT COUNT(day) AS orders, SUM(paid > 0) AS paid, SUM(shipped) AS shipped, SUM(cancelled) AS cancelled,"
        " COALESCE(SUM(paid), 0) - COALESCE(SUM(refunded), 0) AS revenue FROM orders").fetchone()
    seen = conn.execute("SELECT events, last_event_time FROM seen").fetchone()
    return {"orders": row["orders"] or 0, "paid_orders": row["paid"] or 0, "shipped": row["shipped"] or 0,
            "cancelled": row["cancelled"] or 0, "revenue_uah": round((row["revenue"] or 0) / 100, 2),
            "events_seen": seen["events"] if seen else 0, "last_event_time": seen["last_event_time"] if seen else None}


def daily(conn) -> list[dict]:
    rows = conn.execute("SELECT day, COUNT(*) AS orders, COALESCE(SUM(paid), 0) - COALESCE(SUM(refunded), 0) AS rev "
                        "FROM orders WHERE day IS NOT NULL GROUP BY day ORDER BY day")
    return [{"day": r["day"], "orders": r["orders"], "revenue_uah": round(r["rev"] / 100, 2)} for r in rows]


def top_products(conn, limit: int) -> list[dict]:
    rows = conn.execute(
        "SELECT l.sku, MAX(l.title) AS title, SUM(l.quantity) AS quantity, SUM(l.quantity * l.unit_price) AS value"
        " FROM order_lines l JOIN orders o ON o.order_id = l.order_id WHERE o.cancelled = 0"
        " GROUP BY l.sku ORDER BY quantity DESC, l.sku LIMIT ?", (limit,))
    return [{"sku": r["sku"], "title": r["title"], "quantity": r["quantity"], "value_uah": r["value"]} for r in rows]


def wipe(tx) -> None:
    """Drop the read model (and the inbox, so a replay may count every event again)."""
    for table in (*TABLES, "inbox"):
        tx.execute(f"DELETE FROM {table}")
