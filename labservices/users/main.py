"""The User Service: people register, log in and get a JWT the gateway checks on every call."""
from __future__ import annotations

import sqlite3
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ApiError, Database, ServiceSettings, auth, create_app, error_responses
from labservices.common.clock import iso
from labservices.common.declaration import Instance
from labservices.common.deps import from_state
from labservices.common.http import location_of

from . import SERVICE

DESCRIPTION = """The lecture's **User Service**: registration, login, profiles and roles, in its own database.

`POST /api/auth/login` answers a JWT access token (HS256, `iss` and `aud` below, `exp` one hour on).
The gateway checks that token on every call it routes, so the other services never see a password.
The sandbox's seed users: `olena@example.com` / `lab-password` (customer) and
`admin@example.com` / `admin-password` (admin).
"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'customer',
    city TEXT NOT NULL DEFAULT 'Київ',
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""
SEED = [("olena@example.com", "Олена Коваленко", "customer", "Київ", "lab-password"),
        ("taras@example.com", "Тарас Шевчук", "customer", "Львів", "lab-password"),
        ("admin@example.com", "Адміністратор", "admin", "Київ", "admin-password")]
Email = Annotated[str, Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$", max_length=254,
                             examples=["olena@example.com"])]


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="USERS_", extra="ignore")

    token_ttl_s: int = Field(3600, ge=10, le=86400, description="How long an access token lives")


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: str = Field(min_length=1, max_length=100, examples=["Олена Коваленко"])
    password: str = Field(min_length=8, max_length=128, examples=["lab-password"])
    city: str = Field("Київ", min_length=1, max_length=60)


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    password: str = Field(min_length=1, max_length=128)


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["customer", "admin"]
    city: str
    created_at: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class Store:
    def __init__(self, path) -> None:
        self.db = Database(path, SCHEMA, seed=_seed)
        if self.db.is_empty("users"):
            with self.db.tx() as conn:
                _seed(conn)

    def create(self, body: Registration) -> dict:
        try:
            with self.db.tx() as conn:
                cur = conn.execute(
                    "INSERT INTO users (email, name, role, city, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (body.email, body.name, "customer", body.city, auth.hash_password(body.password), iso(time.time())))
                return _public(conn.execute("SELECT * FROM users WHERE id = ?", (cur.lastrowid,)).fetchone())
        except sqlite3.IntegrityError:
            raise ApiError(409, "EMAIL_TAKEN", f"Користувач з email {body.email} вже існує",
                           [{"field": "email", "message": "Вже зареєстрований"}]) from None

    def by_email(self, email: str) -> sqlite3.Row | None:
        with self.db.tx() as conn:
            return conn.execute("SELECT * FROM users WHERE email = ?", (email,)).fetchone()

    def get(self, user_id: int) -> dict:
        with self.db.tx() as conn:
            row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise ApiError(404, "NOT_FOUND", f"Користувача {user_id} не знайдено")
        return _public(row)


def _seed(conn: sqlite3.Connection) -> None:
    for email, name, role, city, password in SEED:
        conn.execute("INSERT INTO users (email, name, role, city, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (email, name, role, city, auth.hash_password(password), iso(time.time())))


def _public(row: sqlite3.Row) -> dict:
    return {k: row[k] for k in ("id", "email", "name", "role", "city", "created_at")}


def _unauthorized(message: str, error: str = "invalid_token") -> ApiError:
    return ApiError(401, "UNAUTHORIZED", message,
                    headers={"WWW-Authenticate": f'Bearer realm="integration-lab", error="{error}"'})


async def current_claims(request: Request) -> dict[str, Any]:
    """The verified claims of the caller's Bearer token (401 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Потрібен заголовок Authorization: Bearer <токен> (отримайте його в POST /api/auth/login)",
                            "invalid_request")
    try:
        return auth.verify_users_token(token.strip())
    except auth.InvalidToken as exc:
        raise _unauthorized(f"Токен не прийнято: {exc}") from None


StoreDep = Annotated[Store, Depends(from_state("store"))]
ClaimsDep = Annotated[dict, Depends(current_claims)]
UserId = Annotated[int, Path(ge=1, le=2**31)]

users = APIRouter(prefix="/api/users", tags=["Users"])
login_router = APIRouter(prefix="/api/auth", tags=["Auth"])


@users.post("", status_code=201, response_model=UserPublic, responses=error_responses(400, 409))
def register(body: Registration, store: StoreDep, request: Request, response: Response) -> dict:
    """Register (always as a customer); the answer's ``Location`` is the new profile."""
    user = store.create(body)
    response.headers["Location"] = location_of(request)(user["id"])
    return user


@users.get("/me", response_model=UserPublic, responses=error_responses(401, 404))
def me(claims: ClaimsDep, store: StoreDep) -> dict:
    """The caller's own profile."""
    return store.get(int(claims["sub"]))


@users.get("/{user_id}", response_model=UserPublic, responses=error_responses(400, 401, 403, 404))
def get_user(user_id: UserId, claims: ClaimsDep, store: StoreDep) -> dict:
    """A profile: your own, or anyone's if you are an admin."""
    if str(user_id) != str(claims["sub"]) and claims.get("role") != "admin":
        raise ApiError(403, "FORBIDDEN", "Чужий профіль бачить лише адміністратор")
    return store.get(user_id)


@login_router.post("/login", response_model=Token, responses=error_responses(400, 401))
def login(body: Login, store: StoreDep, settings: Annotated[Settings, Depends(from_state("settings"))],
          response: Response) -> dict:
    """Email and password in, a JWT access token out (the same 401 for an unknown email and a wrong password)."""
    row = store.by_email(body.email)
    if row is None or not auth.verify_password(body.password, row["password_hash"]):
        raise ApiError(401, "INVALID_CREDENTIALS", "Невірний email або пароль")
    response.headers["Cache-Control"] = "no-store"
    token = auth.issue_users_token(str(row["id"]), settings.token_ttl_s, role=row["role"], name=row["name"],
                                   email=row["email"])
    return {"access_token": token, "token_type": "Bearer", "expires_in": settings.token_ttl_s}


def build_app(instance: Instance | None = None) -> FastAPI:
    """Users with its own database."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(SERVICE.name))
    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[users, login_router], reset=store.db.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Users", "description": "Register, profiles."},
                                   {"name": "Auth", "description": "Log in for a JWT."}])
    app.state.store = store
    return app
