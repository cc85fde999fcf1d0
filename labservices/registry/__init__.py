"""Registry: service discovery, as Consul or Eureka do it, small enough to read."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="registry",
    port=8024,
    title="Service registry",
    teaches="microservices: service discovery — instances register on start and renew a TTL with heartbeats, the "
            "registry health-checks them and drops those that stop; clients resolve a name to live instances "
            "(client-side discovery, round robin) and the gateway does it for its callers (server-side)",
    about="реєстр сервісів (service discovery): екземпляри реєструються, шлють heartbeat і зникають, коли падають",
    notebooks="05; ex07",
)
