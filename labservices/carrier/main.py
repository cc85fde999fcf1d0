"""The carrier: Nova Poshta's JSON API shape, served locally (``POST /v2.0/json/``)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from labservices.common import ServiceSettings, create_app
from labservices.common.declaration import Instance

from . import SERVICE
from .store import CITIES, Store, status_of

DESCRIPTION = """A delivery company's API in the shape of Nova Poshta's public JSON API — not REST.

Every call is `POST /v2.0/json/` with `{"apiKey", "modelName", "calledMethod", "methodProperties"}`,
and every answer is `200` with `{"success", "data", "errors", "warnings", "info", ...}`: a failed
call says `"success": false` in the body, not in the status code. Methods:
`InternetDocument.save` (a waybill; `InfoRegClientBarcodes` = your own reference makes a retried
call return the same waybill), `InternetDocument.delete`, `TrackingDocument.getStatusDocuments`,
`Address.getCities`, `Address.getWarehouses`. The sandbox's key is `np-lab-key-0000`.
"""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CARRIER_", extra="ignore")

    api_key: str = Field("np-lab-key-0000", description="The only apiKey accepted (shown to students on purpose)")
    time_scale: float = Field(1 / 60, gt=0, le=1, description="How fast parcels move: 1 = real minutes")


class NpRequest(BaseModel):
    """One call of Nova Poshta's API."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "apiKey": "np-lab-key-0000", "modelName": "InternetDocument", "calledMethod": "save",
        "methodProperties": {"CityRecipient": "Львів", "RecipientAddress": "Відділення №1",
                             "RecipientName": "Олена Коваленко", "RecipientsPhone": "380501234567",
                             "Weight": "1.5", "Cost": "45000", "InfoRegClientBarcodes": "order-42"}}]})

    apiKey: str = Field("", max_length=100)
    modelName: str = Field(max_length=50)
    calledMethod: str = Field(max_length=50)
    methodProperties: dict[str, Any] = Field(default_factory=dict)


class NpResponse(BaseModel):
    success: bool
    data: list[dict[str, Any]]
    errors: list[str]
    warnings: list[str]
    info: list[str]
    messageCodes: list[str]
    errorCodes: list[str]
    warningCodes: list[str]
    infoCodes: list[str]


def answer(data: list | None = None, errors: list[str] | None = None, codes: list[str] | None = None,
           warnings: list[str] | None = None) -> dict:
    return {"success": not errors, "data": data or [], "errors": errors or [], "warnings": warnings or [],
            "info": [], "messageCodes": [], "errorCodes": codes or [], "warningCodes": [], "infoCodes": []}


REQUIRED = {"CityRecipient": "20000100040", "RecipientAddress": "20000100041", "RecipientName": "20000100042"}


def build_app(instance: Instance | None = None) -> FastAPI:
    """The carrier with its own database of waybills."""
    settings = Settings.for_instance(instance)
    store = Store(settings.database_path(instance.name if instance else SERVICE.name))
    router = APIRouter(tags=["Nova Poshta API"])

    def call(body: NpRequest) -> dict:
        if body.apiKey != settings.api_key:
            return answer(errors=["API key is invalid"], codes=["20000200068"])
        props = body.methodProperties
        method = f"{body.modelName}.{body.calledMethod}"
        if method == "InternetDocument.save":
            missing = [f"{name} is empty" for name in REQUIRED if not str(props.get(name, "")).strip()]
            if missing:
                return answer(errors=missing, codes=[REQUIRED[m.split()[0]] for m in missing])
            if props["CityRecipient"] not in CITIES:
                return answer(errors=[f"CityRecipient {props['CityRecipient']!r} is not served"], codes=["20000100045"])
            saved, again = store.save(props)
            return answer([saved], warnings=["Document already exists for InfoRegClientBarcodes"] if again else [])
        if method == "InternetDocument.delete":
            refs = props.get("DocumentRefs") or []
            refs = [refs] if isinstance(refs, str) else refs
            return answer([{"Ref": ref} for ref in refs if isinstance(ref, str) and store.delete(ref)])
        if method == "TrackingDocument.getStatusDocuments":
            found = []
            for doc in props.get("Documents") or []:
                row = store.find(str(doc.get("DocumentNumber", ""))) if isinstance(doc, dict) else None
                found.append(status_of(row, settings.time_scale) if row else
                             {"Number": str(doc.get("DocumentNumber", "")) if isinstance(doc, dict) else "",
                              "StatusCode": "3", "Status": "Номер не знайдено"})
            return answer(found)
        if method == "Address.getCities":
            text = str(props.get("FindByString", "")).lower()
            return answer([{"Description": city, "Ref": f"city-{n}"} for n, city in enumerate(CITIES)
                           if text in city.lower()])
        if method == "Address.getWarehouses":
            city = str(props.get("CityName", ""))
            return answer([{"Description": w, "Number": str(n + 1), "CityDescription": city}
                           for n, w in enumerate(CITIES.get(city, []))])
        return answer(errors=[f"Method {method} not found"], codes=["20000200201"])

    @router.post("/v2.0/json/", response_model=NpResponse)
    def np_api(body: NpRequest) -> dict:
        """The one endpoint: modelName + calledMethod say what to do; success/errors are in the body."""
        return call(body)

    @router.post("/v2.0/json", response_model=NpResponse, include_in_schema=False)
    def np_api_no_slash(body: NpRequest) -> dict:
        return call(body)

    app = create_app(instance or SERVICE.name, title=SERVICE.title, description=DESCRIPTION, settings=settings,
                     routers=[router], reset=store.reset, on_stop=[store.db.close],
                     openapi_tags=[{"name": "Nova Poshta API", "description": "One URL, many methods."}])
    app.state.store = store
    return app
