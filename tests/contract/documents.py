"""The OpenAPI document of every declared service, built from its declaration at collection time.

Schemathesis turns each operation of each document into a test of its own, so the documents
are needed before any service runs: each service's factory builds its app in a scratch state
folder and the app renders its document (the same code that serves ``/openapi.json``;
``test_served_document_is_the_one_tested`` checks the running service serves this one).
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import Any

from labservices.common.declaration import Instance, declarations

_documents: dict[str, dict[str, Any]] = {}


def openapi_documents() -> dict[str, dict[str, Any]]:
    """Service name -> its OpenAPI document, for every declared service (built once per session)."""
    if not _documents:
        scratch = tempfile.mkdtemp(prefix="lab-contract-docs-")
        atexit.register(shutil.rmtree, scratch, True)
        saved = os.environ.get("LAB_HOME")
        os.environ["LAB_HOME"] = scratch
        try:
            for service in declarations():
                app = service.load_factory()(Instance.of(service.name))
                _documents[service.name] = app.openapi()
        finally:
            if saved is None:
                os.environ.pop("LAB_HOME", None)
            else:
                os.environ["LAB_HOME"] = saved
    return _documents
