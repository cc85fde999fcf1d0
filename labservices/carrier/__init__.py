"""Carrier: a local delivery company's API, shaped like Nova Poshta's public JSON API."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="carrier",
    port=8014,
    title="Carrier (Nova Poshta-like API)",
    teaches="integrating a real-world API that is not REST: Nova Poshta's JSON API shape (one URL; modelName, "
            "calledMethod, methodProperties; success/errors in a 200 body) — waybills (InternetDocument.save), "
            "tracking (TrackingDocument.getStatusDocuments), cities and warehouses",
    about="служба доставки з API у формі Нової пошти: накладні, відстеження, міста й відділення",
    notebooks="04, 05",
)
