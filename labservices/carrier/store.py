"""The carrier's own database: waybills (internet documents) and the cities and warehouses it serves."""
from __future__ import annotations

import random
import time
import uuid

from labservices.common import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    ref TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    client_barcode TEXT UNIQUE,
    recipient_city TEXT NOT NULL,
    recipient_warehouse TEXT NOT NULL,
    recipient_name TEXT NOT NULL,
    recipient_phone TEXT NOT NULL,
    weight REAL NOT NULL,
    declared_cost INTEGER NOT NULL,
    cost INTEGER NOT NULL,
    created_at REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
"""

CITIES = {
    "Київ": ["Відділення №1", "Відділення №2", "Поштомат №5001"],
    "Львів": ["Відділення №1", "Відділення №14"],
    "Харків": ["Відділення №1", "Відділення №3"],
    "Одеса": ["Відділення №1", "Відділення №7"],
    "Дніпро": ["Відділення №1"],
}

# Tracking statuses as Nova Poshta numbers them, with the seconds (at time scale 1) after which each holds.
STATUSES = [(0, 1, "Відправник самостійно створив цю накладну, але ще не надав до відправки"),
            (60, 4, "Відправлення у місті відправника"),
            (180, 5, "Відправлення прямує до міста одержувача"),
            (600, 7, "Прибув на відділення"),
            (1800, 9, "Відправлення отримано")]


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA)

    def reset(self) -> None:
        self.db.reset()

    def save(self, props: dict) -> tuple[dict, bool]:
        """A new internet document, or the one already made for the same client barcode (a retried call)."""
        with self.db.tx() as conn:
            barcode = props.get("InfoRegClientBarcodes") or None
            if barcode:
                row = conn.execute("SELECT * FROM documents WHERE client_barcode = ? AND deleted = 0",
                                   (barcode,)).fetchone()
                if row is not None:
                    return _saved(row), True
            number = "2045" + "".join(random.choices("0123456789", k=10))
            weight = float(props.get("Weight") or 1)
            cost = 70 + round(weight * 10)
            conn.execute(
                "INSERT INTO documents (ref, number, client_barcode, recipient_city, recipient_warehouse,"
                " recipient_name, recipient_phone, weight, declared_cost, cost, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (str(uuid.uuid4()), number, barcode, props["CityRecipient"], props["RecipientAddress"],
                 props["RecipientName"], props.get("RecipientsPhone", ""), weight, int(props.get("Cost") or 0), cost,
                 time.time()))
            return _saved(conn.execute("SELECT * FROM documents WHERE number = ?", (number,)).fetchone()), False

    def find(self, number: str):
        with self.db.tx() as conn:
            return conn.execute("SELECT * FROM documents WHERE number = ? AND deleted = 0", (number,)).fetchone()

    def delete(self, ref: str) -> bool:
        with self.db.tx() as conn:
            return conn.execute("UPDATE documents SET deleted = 1 WHERE ref = ? AND deleted = 0", (ref,)).rowcount > 0


def _saved(row) -> dict:
    delivery = time.strftime("%d.%m.%Y", time.localtime(row["created_at"] + 2 * 86400))
    return {"Ref": row["ref"], "CostOnSite": row["cost"], "EstimatedDeliveryDate": delivery,
            "IntDocNumber": row["number"], "TypeDocument": "InternetDocument"}


def status_of(row, time_scale: float) -> dict:
    age = (time.time() - row["created_at"]) / max(time_scale, 1e-6)
    _, code, text = [s for s in STATUSES if age >= s[0]][-1]
    return {"Number": row["number"], "StatusCode": str(code), "Status": text, "CityRecipient": row["recipient_city"],
            "WarehouseRecipient": row["recipient_warehouse"], "RecipientFullName": row["recipient_name"],
            "DocumentCost": str(row["cost"]), "DocumentWeight": str(row["weight"])}
