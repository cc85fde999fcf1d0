"""A GitHub-like source: opening a pull request sends ``pull_request`` with ``X-Hub-Signature-256``."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from labservices.common import error_responses

from ..models import PullRequestCreate, PullRequestPublic
from ..store import StoreDep

router = APIRouter(prefix="/api/github", tags=["GitHub-like source"])


@router.post("/pulls", status_code=201, response_model=PullRequestPublic, responses=error_responses(400))
def open_pull_request(body: PullRequestCreate, store: StoreDep) -> JSONResponse:
    """Open a pull request; endpoints subscribed to pull_request get GitHub's event (action: opened)."""
    pr, event_id = store.open_pull_request(body.repository, body.title, body.user, body.head_ref)
    return JSONResponse({**pr, "event_id": event_id}, status_code=201)
