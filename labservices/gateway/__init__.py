"""Gateway: the lecture's API Gateway — one entry point that routes, checks JWTs, limits and aggregates."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="gateway",
    port=8020,
    title="API Gateway",
    teaches="microservices: the lecture's API Gateway — one entry point routing /api/users, /api/products, "
            "/api/orders, /api/sagas, /api/shipments to instances found in the registry (server-side discovery), "
            "checking the users service's JWTs, rate limiting, aggregating an order with its customer, products and "
            "shipment, a circuit breaker per route, trace context passed on",
    about="API Gateway з лекції: єдина точка входу — маршрутизація через реєстр, перевірка JWT, rate limiting, "
          "агрегація, circuit breaker на кожен маршрут",
    notebooks="05; ex07",
    needs=("registry", "users", "catalog", "orders", "saga", "shipping"),
)
