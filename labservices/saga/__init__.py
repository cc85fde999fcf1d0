"""Saga: "place an order" as an orchestrated saga with compensations and a persisted log."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="saga",
    port=8025,
    title="Saga orchestrator",
    teaches="microservices: an orchestrated saga (as FTGO's CreateOrderSaga) — create order → reserve stock "
            "(catalog) → charge (payments) → ship (shipping) → approve; a business failure runs the compensations "
            "of the steps done in reverse (refund, release, reject), a transient one is retried; the saga log is "
            "persisted, so a killed orchestrator finishes or compensates when it starts again; every saga a timeline",
    about="оркестрована сага: резерв → оплата → доставка; компенсації у зворотному порядку, журнал саги, "
          "відновлення після падіння оркестратора",
    notebooks="05; ex07",
    needs=("catalog", "payments", "shipping", "registry"),
    discoverable=True,
)
