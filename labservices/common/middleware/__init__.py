"""One small ASGI middleware per concern, as Starlette keeps them (``gzip.py``, ``cors.py``...).

``create_app`` stacks them, outermost first:

0. :class:`ForwardedPrefixMiddleware` — behind jupyter-server-proxy, its path prefix becomes ``root_path`` (/docs works);
1. :class:`RequestIdMiddleware` — take or make ``X-Request-ID``; say the trace in ``traceresponse``;
2. :class:`ObserveMiddleware` — time the request for /metrics and write one JSON access line;
3. :class:`BodyLimitMiddleware` — 413 for a body over the limit, declared or streamed;
4. :class:`ChaosMiddleware` — the chaos switches: latency, injected errors, down;
5. :class:`LastResortMiddleware` — any unhandled exception becomes a 500 envelope, never a stack trace;
6. ``RateLimitHeaders`` (``ratelimit.py``) — ``X-RateLimit-*`` on every counted request;
7. :class:`HeadOptionsMiddleware` — HEAD from the GET route, OPTIONS with ``Allow``, for every path.
"""
from .body_limit import BodyLimitMiddleware
from .chaos import CHAOS_EXEMPT, ChaosMiddleware
from .forwarded_prefix import ForwardedPrefixMiddleware
from .head_options import HeadOptionsMiddleware, allowed_methods
from .last_resort import LastResortMiddleware
from .observe import ObserveMiddleware, route_template
from .reply import reply_error
from .request_id import RequestIdMiddleware

__all__ = ["ForwardedPrefixMiddleware", "RequestIdMiddleware", "ObserveMiddleware", "BodyLimitMiddleware", "ChaosMiddleware",
           "LastResortMiddleware", "HeadOptionsMiddleware", "allowed_methods", "CHAOS_EXEMPT", "route_template", "reply_error"]
