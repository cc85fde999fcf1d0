"""Where a lab service may send a request a user asked for: loopback and the lab's own hosts (SSRF guard).

The payments service sends webhooks to URLs its users register; the inspector replays captured
requests to URLs its users type. Left open, that lets anyone make the server call addresses
only it can reach: cloud metadata (169.254.169.254), admin panels on the private network,
other tenants' services. This is server-side request forgery (OWASP A10). Real providers
refuse private and link-local addresses; a lab on one machine refuses everything but
loopback and the names of its own containers, and its senders never follow redirects, so an
allowed URL cannot bounce the request elsewhere.
"""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .declaration import lab_hosts

MAX_URL_LENGTH = 2048

__all__ = ["MAX_URL_LENGTH", "lab_hosts", "target_problem"]


def target_problem(url: str, allowed_hosts: list[str]) -> str | None:
    """Why ``url`` may not be called (a sentence), or None when it may."""
    if len(url) > MAX_URL_LENGTH:
        return f"URL довша за {MAX_URL_LENGTH} символів"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Некоректна URL-адреса"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Потрібна адреса http:// або https:// з іменем хоста"
    if parts.username or parts.password:
        return "URL не може містити логін чи пароль"
    if port == 0:
        return "Некоректний порт"
    host = parts.hostname.lower().rstrip(".")
    if host == "localhost" or host in {h.lower() for h in allowed_hosts}:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return (f"Хост {host!r} не дозволено: у пісочниці запити йдуть лише на 127.0.0.1/localhost "
                f"або на хости лабораторії ({', '.join(allowed_hosts)}), щоб сервіс не став знаряддям SSRF")
    if address.is_loopback:
        return None
    return (f"Адресу {host} не дозволено: лише loopback (127.0.0.0/8, ::1) або хости лабораторії; "
            "приватні, link-local та публічні адреси заборонені (захист від SSRF)")
