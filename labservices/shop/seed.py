"""The shop's deterministic seed data, in Ukrainian, built around the lecture's examples.

User 12345, products 1 and 2, customer 123 with order 456, customer 67890, order
98765 and the SKUs "ABC" and "XYZ" are exactly the ones the lecture's requests name.
The rest is generated from fixed lists and a fixed random seed, so every reset
gives the same 156 products (the lecture's ``"total": 156``) and the same orders.
"""
from __future__ import annotations

import json
import random
import sqlite3
from datetime import datetime, timedelta, timezone

from labservices.common.auth import hash_password

# id, username, email, first, last, date_of_birth, city, roles, active, created_at, last_login, password
USERS = [
    (12345, "ivan_petrenko", "ivan@example.com", "Іван", "Петренко", "1995-03-15", "Київ",
     ["user", "moderator"], True, "2023-01-10T14:30:00Z", "2024-02-08T09:15:32Z", "ivan-password"),
    (12346, "olena_kovalenko", "olena.kovalenko@example.com", "Олена", "Коваленко", "1988-07-22", "Львів",
     ["user", "admin"], True, "2022-11-03T08:00:00Z", "2024-02-07T18:42:10Z", "olena-password"),
    (12347, "taras_bondarenko", "taras.bondarenko@example.com", "Тарас", "Бондаренко", "1990-12-05", "Харків",
     ["user", "manager"], True, "2023-03-21T10:05:00Z", "2024-02-06T08:01:45Z", "taras-password"),
    (12348, "oksana_melnyk", "oksana.melnyk@example.com", "Оксана", "Мельник", "2001-06-30", "Одеса",
     ["user"], True, "2023-05-02T16:20:00Z", "2024-01-29T20:11:03Z", "oksana-password"),
    (12349, "andriy_tkachenko", "andriy.tkachenko@example.com", "Андрій", "Ткаченко", "1985-02-14", "Дніпро",
     ["user"], False, "2023-06-11T09:00:00Z", "2023-09-01T12:00:00Z", "andriy-password"),
    (12350, "username", "username@example.com", "Демо", "Користувач", None, None,
     ["user"], True, "2023-07-01T00:00:00Z", None, "password"),
    (12351, "natalia_kravchenko", "natalia.kravchenko@example.com", "Наталія", "Кравченко", "1998-10-09", "Запоріжжя",
     ["user"], True, "2023-08-15T11:30:00Z", "2024-02-01T07:45:00Z", "natalia-password"),
    (12352, "dmytro_lysenko", "dmytro.lysenko@example.com", "Дмитро", "Лисенко", "1993-04-27", "Вінниця",
     ["user", "manager"], True, "2023-09-30T13:10:00Z", "2024-02-05T15:25:40Z", "dmytro-password"),
]

ELECTRONICS = [
    ("Ноутбук Dell XPS 15", 45000), ("Монітор LG 27 inch", 12000),
    ("Бездротова миша Logitech M185", 549), ("Клавіатура Logitech K120", 699),
    ("Смартфон Samsung Galaxy S24", 38999), ("Смартфон Xiaomi Redmi Note 13", 8999),
    ("Навушники Sony WH-1000XM5", 13999), ("Флешка Kingston 64 ГБ", 299),
    ("USB-кабель Type-C 1 м", 199), ("Зарядний пристрій Baseus 20 Вт", 649),
    ("Powerbank Xiaomi 10000 мАг", 899), ("Карта пам'яті SanDisk 128 ГБ", 579),
    ("Вебкамера Logitech C270", 1299), ("Планшет Apple iPad 10.9", 18999),
    ("Ноутбук Lenovo IdeaPad 5", 29999), ("Ноутбук ASUS VivoBook 15", 21999),
    ("Ноутбук Apple MacBook Air M2", 47999), ("Монітор Samsung 24 inch", 5999),
    ("Монітор Dell UltraSharp 27", 16999), ("Телевізор LG OLED 55", 49999),
    ("Телевізор Samsung QLED 50", 27999), ("Смарт-годинник Apple Watch SE", 10999),
    ("Фітнес-браслет Xiaomi Smart Band 8", 1499), ("Колонка JBL Flip 6", 4299),
    ("Навушники Apple AirPods Pro", 9999), ("Навушники Xiaomi Redmi Buds 4", 799),
    ("Роутер TP-Link Archer C6", 1399), ("SSD Samsung 980 1 ТБ", 3299),
    ("Зовнішній диск WD 2 ТБ", 2999), ("Принтер HP LaserJet M111w", 5499),
    ("Електронна книга PocketBook 628", 5999), ("Ігрова консоль Sony PlayStation 5", 21999),
    ("Геймпад Xbox Wireless Controller", 2499), ("Чохол для смартфона", 249),
    ("Захисне скло для смартфона", 149), ("Мережевий фільтр на 5 розеток", 459),
    ("Батарейки AA, 4 шт.", 119), ("HDMI-кабель 2 м", 229),
    ("Фотоапарат Canon EOS 250D", 28999), ("Квадрокоптер DJI Mini 3", 24999),
    ("Мікрофон HyperX SoloCast", 2199), ("Мишка ігрова Razer DeathAdder", 1899),
    ("Килимок для миші SteelSeries QcK", 399), ("Підставка для ноутбука", 949),
]
SKUS = {3: "ABC", 4: "XYZ"}  # the lecture's POST /api/orders names these two

BOOKS = [
    ("«Кобзар» — Тарас Шевченко", 450), ("«Тигролови» — Іван Багряний", 320),
    ("«Місто» — Валер'ян Підмогильний", 290), ("«Захар Беркут» — Іван Франко", 260),
    ("«Лісова пісня» — Леся Українка", 240), ("«Тіні забутих предків» — Михайло Коцюбинський", 250),
    ("«Жовтий князь» — Василь Барка", 310), ("«Солодка Даруся» — Марія Матіос", 280),
    ("«Енеїда» — Іван Котляревський", 350), ("«Хіба ревуть воли, як ясла повні?» — Панас Мирний", 300),
    ("«Кайдашева сім'я» — Іван Нечуй-Левицький", 230), ("«Сад Гетсиманський» — Іван Багряний", 390),
    ("«Маруся Чурай» — Ліна Костенко", 270), ("«Записки українського самашедшого» — Ліна Костенко", 340),
    ("«Собор» — Олесь Гончар", 260), ("«Мартин Боруля» — Іван Карпенко-Карий", 180),
    ("«Ворошиловград» — Сергій Жадан", 360), ("«Інтернат» — Сергій Жадан", 340),
    ("«Felix Austria» — Софія Андрухович", 330), ("«Музей покинутих секретів» — Оксана Забужко", 480),
    ("«Танго смерті» — Юрій Винничук", 370), ("«Чорна рада» — Пантелеймон Куліш", 220),
    ("«Зачарована Десна» — Олександр Довженко", 210), ("«Intermezzo» — Михайло Коцюбинський", 150),
    ("«Земля» — Ольга Кобилянська", 260), ("«Вершники» — Юрій Яновський", 240),
    ("«Мина Мазайло» — Микола Куліш", 190), ("«Я (Романтика)» — Микола Хвильовий", 170),
    ("«Доця» — Тамара Горіха Зерня", 350), ("«Амадока» — Софія Андрухович", 890),
    ("«Століття Якова» — Володимир Лис", 290), ("«Чорний ворон» — Василь Шкляр", 380),
    ("«Чистий код» — Роберт Мартін", 650), ("«Python для початківців» — Ерік Метіз", 620),
    ("«Вивчаємо SQL» — Алан Болье", 580), ("«Проєктування інтенсивних застосунків» — Мартін Клеппман", 890),
    ("«Мікросервіси. Патерни» — Кріс Річардсон", 790), ("«Рефакторинг» — Мартін Фаулер", 720),
    ("«Прагматичний програміст» — Д. Томас, Е. Гант", 640), ("«Kafka: повний посібник» — Н. Нархеде", 760),
]

FURNITURE = [
    ("Стіл письмовий", 3499), ("Крісло офісне", 4999), ("Шафа-купе двостулкова", 12999),
    ("Диван кутовий", 24999), ("Ліжко двоспальне 160x200", 11999), ("Полиця настінна", 599),
    ("Табурет", 799), ("Тумба приліжкова", 1899), ("Комод на 4 шухляди", 5499),
    ("Стілець кухонний", 1299), ("Стіл обідній розкладний", 7999), ("Стелаж книжковий", 2499),
]
FINISHES = ["дуб", "білий", "горіх"]

CLOTHING = [
    ("Футболка бавовняна", 399), ("Худі з капюшоном", 1199), ("Куртка зимова", 3999),
    ("Джинси класичні", 1499), ("Вишиванка", 2499), ("Светр вовняний", 1799),
    ("Шапка в'язана", 349), ("Шарф", 449), ("Кросівки бігові", 2899),
    ("Сукня літня", 1299), ("Сорочка лляна", 1099), ("Пальто демісезонне", 4599),
]
COLOURS = ["чорний", "синій", "сірий"]

CUSTOMERS = [
    (123, "Олександр Коваль", "o.koval@example.com", "+380501234567", "Київ", "2022-09-14T10:00:00Z"),
    (124, "ТОВ «Київські смаколики»", "orders@smakolyky.example.com", "+380442001122", "Київ", "2022-10-01T09:30:00Z"),
    (125, "Ірина Бойко", "iryna.boiko@example.com", "+380671112233", "Львів", "2022-12-12T12:12:00Z"),
    (126, "Сергій Мороз", "serhii.moroz@example.com", "+380931234500", "Харків", "2023-01-20T15:45:00Z"),
    (127, "ФОП Гнатюк В. П.", "hnatiuk.fop@example.com", "+380972223344", "Рівне", "2023-02-03T08:15:00Z"),
    (128, "Юлія Савченко", "yulia.savchenko@example.com", "+380505556677", "Одеса", "2023-03-18T17:00:00Z"),
    (129, "Віктор Гончаренко", "viktor.honcharenko@example.com", "+380664445566", "Дніпро", "2023-04-09T11:20:00Z"),
    (130, "ТОВ «Полтавські меблі»", "zakupivli@poltava-mebli.example.com", "+380532556677", "Полтава", "2023-05-27T14:00:00Z"),
    (131, "Анна Кузьменко", "anna.kuzmenko@example.com", "+380683332211", "Чернігів", "2023-07-07T07:07:00Z"),
    (132, "Богдан Олійник", "bohdan.oliinyk@example.com", "+380957778899", "Івано-Франківськ", "2023-08-19T19:30:00Z"),
    (133, "Христина Романюк", "khrystyna.romaniuk@example.com", "+380631239876", "Ужгород", "2023-10-02T10:10:00Z"),
    (134, "Максим Павленко", "maksym.pavlenko@example.com", "+380509871234", "Запоріжжя", "2023-11-23T16:40:00Z"),
    (67890, "Марія Шевченко", "maria.shevchenko@example.com", "+380661234567", "Київ", "2023-02-14T09:00:00Z"),
]

# order id, customer id, status, created_at, [(product id, quantity)]
LECTURE_ORDERS = [
    (456, 123, "shipped", "2024-01-15T12:00:00Z", [(1, 1), (3, 1)]),
    (98765, 67890, "pending", "2024-02-08T10:30:00Z", [(3, 2), (4, 1)]),
]


def products() -> list[tuple[str, str, str, float, bool]]:
    """(sku, title, category, price, in_stock) of the 156 seeded products, in id order."""
    rows: list[tuple[str, str, float]] = [(t, "electronics", p) for t, p in ELECTRONICS]
    rows += [(t, "books", p) for t, p in BOOKS]
    rows += [(f"{t} ({f})", "furniture", p) for t, p in FURNITURE for f in FINISHES]
    rows += [(f"{t} ({c})", "clothing", p) for t, p in CLOTHING for c in COLOURS]
    prefixes = {"electronics": "EL", "books": "BK", "furniture": "FR", "clothing": "CL"}
    out = []
    for pid, (title, category, price) in enumerate(rows, start=1):
        sku = SKUS.get(pid, f"{prefixes[category]}-{pid:03d}")
        in_stock = pid != 2 and pid % 7 != 0  # the lecture's monitor (id 2) is out of stock
        out.append((sku, title, category, float(price), in_stock))
    return out


def seed(conn: sqlite3.Connection) -> None:
    """Fill an empty database with the seed data."""
    for (uid, username, email, first, last, dob, city, roles, active, created, last_login, password) in USERS:
        conn.execute(
            "INSERT INTO users (id, username, email, first_name, last_name, date_of_birth, city, roles,"
            " active, password_hash, created_at, last_login) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (uid, username, email, first, last, dob, city, json.dumps(roles), int(active),
             hash_password(password), created, last_login),
        )
    catalogue = products()
    for pid, (sku, title, category, price, in_stock) in enumerate(catalogue, start=1):
        conn.execute(
            "INSERT INTO products (id, sku, title, category, price, in_stock) VALUES (?,?,?,?,?,?)",
            (pid, sku, title, category, price, int(in_stock)),
        )
    conn.executemany(
        "INSERT INTO customers (id, name, email, phone, city, created_at) VALUES (?,?,?,?,?,?)", CUSTOMERS)
    for order in LECTURE_ORDERS + generated_orders(catalogue):
        _insert_order(conn, catalogue, *order)


def generated_orders(catalogue: list) -> list[tuple]:
    """150 orders from January 2023 to December 2024; recent ones are more often pending."""
    rng = random.Random(6)  # lecture 06
    customer_ids = [c[0] for c in CUSTOMERS]
    start = datetime(2023, 1, 2, 9, 0, tzinfo=timezone.utc)
    orderable = [pid for pid, p in enumerate(catalogue, start=1) if p[4]]
    orders = []
    for n in range(150):
        created = start + timedelta(days=n * 4.85, minutes=rng.randrange(0, 600))
        if created.year == 2024:
            status = rng.choices(["pending", "paid", "shipped", "cancelled"], [5, 2, 2, 1])[0]
        else:
            status = rng.choices(["pending", "paid", "shipped", "cancelled"], [1, 1, 6, 2])[0]
        customer = 123 if n % 10 == 0 else rng.choice(customer_ids)
        items = [(rng.choice(orderable), rng.randint(1, 3)) for _ in range(rng.randint(1, 3))]
        orders.append((1001 + n, customer, status, created.strftime("%Y-%m-%dT%H:%M:%SZ"), items))
    return orders


def _insert_order(conn: sqlite3.Connection, catalogue: list, oid: int, customer: int, status: str,
                  created: str, items: list[tuple[int, int]]) -> None:
    conn.execute(
        "INSERT INTO orders (id, customer_id, status, created_at, updated_at) VALUES (?,?,?,?,?)",
        (oid, customer, status, created, created),
    )
    for line, (pid, qty) in enumerate(items, start=1):
        sku, title, _, price, _ = catalogue[pid - 1]
        conn.execute(
            "INSERT INTO order_items (order_id, line, product_id, sku, title, quantity, unit_price)"
            " VALUES (?,?,?,?,?,?,?)", (oid, line, pid, sku, title, qty, price),
        )
