"""Users: the lecture's User Service — registration, login, JWT access tokens, profiles."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="users",
    port=8021,
    title="User Service",
    teaches="microservices: the lecture's User Service — registration, login and JWT access tokens (HS256 via "
            "labservices.common.auth, one implementation with the shop's), profiles, roles; its own database",
    about="User Service з лекції: реєстрація, вхід, JWT, профілі й ролі; власна база даних",
    notebooks="05; ex07",
    discoverable=True,
)
