"""CRM: a Salesforce-like system of contacts and deals, called with OAuth 2.0 client credentials."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="crm",
    port=8030,
    title="CRM (Salesforce-like)",
    teaches="integration practice: a CRM as real ones are called — OAuth 2.0 client credentials "
            "(`POST /services/oauth2/token`, Bearer JWT), contacts found by email or upserted by it (as Salesforce "
            "upserts by an external id), deals upserted by the order's id, activities (email opened, clicked) "
            "recorded once per external id; the provider of the middleware's Pact contract",
    about="CRM на зразок Salesforce: контакти, угоди й активності; доступ — OAuth2 client credentials",
    notebooks="08; ex10",
)
