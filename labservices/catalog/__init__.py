"""Catalog: the lecture's Product Service — products, prices, stock and ``/reserve``, run as two copies."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="catalog",
    port=8022,
    title="Product Service (catalog)",
    teaches="microservices: the lecture's Product Service — products, stock and POST /reserve (its synchronous "
            "create_order example verbatim); two copies (catalog, catalog-2) share its database and register with "
            "the registry, so discovery, round robin and failover show; reserves from the bus when orders falls back",
    about="Product Service з лекції: товари, залишки, POST /reserve; два екземпляри для service discovery",
    notebooks="05; ex07",
    needs=("registry", "rabbitmq"),
    instances=2,
    discoverable=True,
)
