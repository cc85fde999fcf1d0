"""The gateway's route table: which prefix goes to which service, and who may call it."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Route:
    prefix: str  # "/api/products": the path and everything under it
    service: str  # the service it goes to, found through the registry
    public_reads: bool = False  # GET and HEAD need no token (a catalog anyone may browse)
    public: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (method, exact path) needing no token
    timeout_s: float = 5.0

    def matches(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    def needs_token(self, method: str, path: str) -> bool:
        if self.public_reads and method in ("GET", "HEAD"):
            return False
        return (method, path) not in self.public


ROUTES = [
    Route("/api/auth", "users", public=frozenset({("POST", "/api/auth/login")})),
    Route("/api/users", "users", public=frozenset({("POST", "/api/users")})),
    Route("/api/products", "catalog", public_reads=True),
    Route("/api/reservations", "catalog"),
    Route("/api/orders", "orders", timeout_s=15.0),  # the synchronous path may wait out retries to the catalog
    Route("/api/sagas", "saga", timeout_s=15.0),
    Route("/api/shipments", "shipping"),
]


def route_for(path: str) -> Route | None:
    for route in ROUTES:
        if route.matches(path):
            return route
    return None
