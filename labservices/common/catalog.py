"""The products the event-driven and microservice lessons sell, as seed data each service copies.

Every service keeps its own copy in its own database (inventory its stock, orders its prices):
that is the point of a service's own data. The list starts with the lecture's SKUs.
"""
from __future__ import annotations

# sku, title, price (UAH), stock on a fresh start
PRODUCTS: list[tuple[str, str, int, int]] = [
    ("ABC", "Бездротова миша Logitech M185", 549, 50),
    ("XYZ", "Клавіатура Logitech K120", 699, 30),
    ("EL-001", "Ноутбук Dell XPS 15", 45000, 5),
    ("EL-002", "Монітор LG 27 inch", 12000, 8),
    ("EL-005", "Смартфон Samsung Galaxy S24", 38999, 3),
    ("EL-007", "Навушники Sony WH-1000XM5", 13999, 10),
    ("EL-008", "Флешка Kingston 64 ГБ", 299, 200),
    ("BK-001", "Чиста архітектура, Роберт Мартін", 650, 12),
    ("BK-002", "Designing Data-Intensive Applications", 1900, 4),
    ("HM-001", "Чашка «Інтеграція систем»", 250, 1),
]

PRICES = {sku: price for sku, _, price, _ in PRODUCTS}
TITLES = {sku: title for sku, title, _, _ in PRODUCTS}
