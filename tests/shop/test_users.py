"""Users: the lecture's GET, POST, PUT, PATCH and DELETE on /api/users, and /api/users/me."""
from __future__ import annotations

import pytest

from tests.shop.shopapi import ADMIN, MANAGER, READER, error_code, fields, unique

LECTURE_USER = {
    "id": 12345, "username": "ivan_petrenko", "email": "ivan@example.com",
    "profile": {"first_name": "Іван", "last_name": "Петренко", "date_of_birth": "1995-03-15", "city": "Київ"},
    "roles": ["user", "moderator"], "active": True,
    "created_at": "2023-01-10T14:30:00Z", "last_login": "2024-02-08T09:15:32Z",
}


def test_get_user_12345_returns_the_lecture_json(api):
    resp = api.get("/api/users/12345", headers=READER)
    assert resp.status_code == 200
    assert resp.json() == LECTURE_USER
    assert resp.headers["Content-Type"] == "application/json"


def test_list_users_is_paginated(api):
    resp = api.get("/api/users", params={"per_page": 3}, headers=READER)
    assert resp.status_code == 200
    body = resp.json()
    assert len(body["data"]) == 3
    assert body["pagination"]["page"] == 1 and body["pagination"]["per_page"] == 3
    assert body["pagination"]["total"] >= 8
    assert 'rel="next"' in resp.headers["Link"]


def test_list_users_filters_by_role(api):
    resp = api.get("/api/users", params={"role": "admin"}, headers=READER)
    assert resp.status_code == 200
    assert resp.json()["data"] and all("admin" in u["roles"] for u in resp.json()["data"])


def test_list_users_without_credentials_is_401(api):
    resp = api.get("/api/users")
    assert resp.status_code == 401
    assert error_code(resp) == "UNAUTHORIZED"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_create_user_returns_201_and_location(api):
    name = unique("olha")
    resp = api.post("/api/users", json={"username": name, "email": f"{name}@example.com", "name": "Ольга Шевчук",
                                        "role": "manager", "city": "Полтава"}, headers=MANAGER)
    assert resp.status_code == 201
    user = resp.json()
    assert resp.headers["Location"] == f"{api.base}/api/users/{user['id']}"
    assert user["profile"] == {"first_name": "Ольга", "last_name": "Шевчук", "date_of_birth": None, "city": "Полтава"}
    assert user["roles"] == ["user", "manager"] and user["active"] is True and user["last_login"] is None
    assert "password" not in user and "password_hash" not in user
    assert api.get(resp.headers["Location"].removeprefix(api.base), headers=READER).json() == user


def test_create_user_with_a_taken_email_is_409(api, new_user):
    taken = new_user()
    resp = api.post("/api/users", json={"username": unique("u"), "email": taken["email"].upper(), "name": "Дубль"},
                    headers=MANAGER)
    assert resp.status_code == 409
    assert error_code(resp) == "CONFLICT"
    assert fields(resp) == ["email"]


def test_create_user_with_a_taken_username_is_409(api):
    resp = api.post("/api/users", json={"username": "ivan_petrenko", "email": f"{unique()}@example.com", "name": "Дубль"},
                    headers=MANAGER)
    assert resp.status_code == 409
    assert fields(resp) == ["username"]


def test_create_user_by_a_reader_is_403(api):
    resp = api.post("/api/users", json={"username": unique(), "email": f"{unique()}@example.com", "name": "Ні"},
                    headers=READER)
    assert resp.status_code == 403
    assert error_code(resp) == "FORBIDDEN"


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email"}, "email"),
    ({"name": ""}, "name"),
    ({"name": "Я" * 101}, "name"),
    ({"username": "Має Пробіли"}, "username"),
    ({"role": "superuser"}, "role"),
    ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
    ({"password": "short"}, "password"),
    ({"active": "maybe"}, "active"),
    ({"is_admin": True}, "is_admin"),
])
def test_create_user_with_bad_fields_is_400_and_creates_nothing(api, body, field):
    name = unique("bad")
    resp = api.post("/api/users", json={"username": name, "email": f"{name}@example.com", "name": "Б", **body},
                    headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert field in fields(resp)
    listed = api.get("/api/users", params={"limit": 100}, headers=READER).json()["data"]
    assert name not in {u["username"] for u in listed}


def test_invalid_email_gets_the_lecture_message(api):
    resp = api.post("/api/users", json={"username": unique(), "email": "ivan.example.com", "name": "Іван"}, headers=MANAGER)
    assert resp.json()["error"]["details"][0]["message"] == "Невірний формат email адреси"


def test_put_lecture_body_replaces_the_user(api, new_user):
    user = new_user(city="Львів", date_of_birth="1990-01-01")
    email = f"{unique('ivan')}@example.com"
    resp = api.put(f"/api/users/{user['id']}", json={"name": "Іван Петренко", "email": email, "role": "manager"},
                   headers=MANAGER)
    assert resp.status_code == 200
    body = resp.json()
    assert body["profile"] == {"first_name": "Іван", "last_name": "Петренко", "date_of_birth": None, "city": None}
    assert body["email"] == email and body["roles"] == ["user", "manager"]
    assert body["username"] == user["username"] and body["created_at"] == user["created_at"]


def test_put_twice_leaves_the_same_state(api, new_user):
    user = new_user()
    body = {"name": "Марко Вовчок", "email": f"{unique()}@example.com", "role": "moderator", "city": "Немирів"}
    first = api.put(f"/api/users/{user['id']}", json=body, headers=MANAGER)
    second = api.put(f"/api/users/{user['id']}", json=body, headers=MANAGER)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.headers["ETag"] == second.headers["ETag"]


def test_put_without_a_required_field_is_400_and_changes_nothing(api, new_user):
    user = new_user()
    resp = api.put(f"/api/users/{user['id']}", json={"name": "Лише Ім'я", "role": "manager"}, headers=MANAGER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert fields(resp) == ["email"]
    assert api.get(f"/api/users/{user['id']}", headers=READER).json() == user


def test_put_with_a_taken_email_is_409_and_changes_nothing(api, new_user):
    user = new_user()
    resp = api.put(f"/api/users/{user['id']}", json={"name": "Іван", "email": "ivan@example.com", "role": "user"},
                   headers=MANAGER)
    assert resp.status_code == 409
    assert fields(resp) == ["email"]
    assert api.get(f"/api/users/{user['id']}", headers=READER).json() == user


def test_put_unknown_user_is_404(api):
    resp = api.put("/api/users/999999", json={"name": "Ніхто", "email": f"{unique()}@example.com", "role": "user"},
                   headers=MANAGER)
    assert resp.status_code == 404
    assert error_code(resp) == "NOT_FOUND"


def test_patch_lecture_body_changes_only_the_email(api, new_user):
    user = new_user(city="Суми")
    email = f"new-email-{unique()}@example.com"
    resp = api.patch(f"/api/users/{user['id']}", json={"email": email}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json() == {**user, "email": email}


def test_patch_name_and_role(api, new_user):
    user = new_user()
    resp = api.patch(f"/api/users/{user['id']}", json={"name": "Леся Українка", "role": "admin"}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json()["profile"]["first_name"] == "Леся" and resp.json()["profile"]["last_name"] == "Українка"
    assert resp.json()["roles"] == ["user", "admin"]


def test_patch_city_to_null_clears_it(api, new_user):
    user = new_user(city="Рівне")
    resp = api.patch(f"/api/users/{user['id']}", json={"city": None}, headers=MANAGER)
    assert resp.status_code == 200
    assert resp.json()["profile"]["city"] is None


def test_patch_email_to_null_is_400_and_changes_nothing(api, new_user):
    user = new_user()
    resp = api.patch(f"/api/users/{user['id']}", json={"email": None}, headers=MANAGER)
    assert resp.status_code == 400
    assert fields(resp) == ["email"]
    assert api.get(f"/api/users/{user['id']}", headers=READER).json() == user


def test_patch_to_a_taken_username_is_409_and_changes_nothing(api, new_user):
    user = new_user()
    resp = api.patch(f"/api/users/{user['id']}", json={"username": "ivan_petrenko"}, headers=MANAGER)
    assert resp.status_code == 409
    assert fields(resp) == ["username"]
    assert api.get(f"/api/users/{user['id']}", headers=READER).json() == user


def test_delete_user_by_admin_returns_204_then_404(api, new_user):
    user = new_user()
    resp = api.delete(f"/api/users/{user['id']}", headers=ADMIN)
    assert resp.status_code == 204
    assert resp.content == b""
    assert api.get(f"/api/users/{user['id']}", headers=READER).status_code == 404
    again = api.delete(f"/api/users/{user['id']}", headers=ADMIN)
    assert again.status_code == 404
    assert error_code(again) == "NOT_FOUND"


def test_delete_user_by_a_manager_is_403_and_keeps_the_user(api, new_user):
    user = new_user()
    resp = api.delete(f"/api/users/{user['id']}", headers=MANAGER)
    assert resp.status_code == 403
    assert error_code(resp) == "FORBIDDEN"
    assert api.get(f"/api/users/{user['id']}", headers=READER).status_code == 200


def test_me_with_basic_shows_the_user(api):
    resp = api.get("/api/users/me", auth=("ivan_petrenko", "ivan-password"))
    assert resp.status_code == 200
    me = resp.json()
    assert me["subject"] == "ivan_petrenko" and me["auth_method"] == "basic"
    assert me["scopes"] == ["read", "write"]
    assert me["user"]["id"] == 12345 and me["token_claims"] is None


def test_me_with_bearer_shows_the_token_claims(api):
    resp = api.get("/api/users/me", headers={"Authorization": f"Bearer {api.token()}"})
    assert resp.status_code == 200
    me = resp.json()
    assert me["subject"] == "my_app" and me["auth_method"] == "bearer" and me["user"] is None
    assert me["token_claims"]["aud"] == "shop-api" and me["token_claims"]["roles"] == ["manager"]


def test_me_with_an_api_key_names_the_application(api):
    me = api.get("/api/users/me", headers=READER).json()
    assert me == {"subject": "lecture-demo", "auth_method": "api_key", "roles": ["reader"], "scopes": ["read"],
                  "user": None, "token_claims": None}


def test_user_created_with_a_password_can_use_basic(api, new_user):
    user = new_user(password="пароль-з-юнікодом")
    resp = api.get("/api/users/me", auth=(user["username"], "пароль-з-юнікодом".encode()))
    assert resp.status_code == 200
    assert resp.json()["user"]["id"] == user["id"]


@pytest.mark.parametrize("path", ["/api/users/99999999999999999999", "/api/users/-1", "/api/users/0",
                                  "/api/users/abc", "/api/users/1.5"])
def test_impossible_user_ids_are_400(api, path):
    resp = api.get(path, headers=READER)
    assert resp.status_code == 400
    assert error_code(resp) == "VALIDATION_ERROR"
    assert fields(resp) == ["user_id"]


def test_unknown_user_is_404(api):
    resp = api.get("/api/users/999999", headers=READER)
    assert resp.status_code == 404
    assert error_code(resp) == "NOT_FOUND"


def test_unicode_names_round_trip(api, new_user):
    user = new_user(name="Ґалина Їжакевич-Щербань 🌻")
    assert user["profile"] == {"first_name": "Ґалина", "last_name": "Їжакевич-Щербань 🌻",
                               "date_of_birth": None, "city": None}
