"""The request inspector: a local webhook.site that captures, shows, answers and replays requests."""
from labservices.common.declaration import Service

# The bin Alertmanager sends the lab's alerts to (`lab up` points its webhook here): there from the
# start and again after every reset, so an alert arrives like any other webhook.
ALERTS_BIN = "a1e47500-0000-4000-8000-000000000000"
ALERTS_BIN_NAME = "alertmanager"

SERVICE = Service(
    name="inspector",
    port=8003,
    title="Request inspector",
    teaches="webhooks: a local webhook.site — catch any request in a bin, read its headers and body, make the "
            "bin answer 500 or slowly, replay a request elsewhere",
    about="«пастка» для вебхуків на кшталт webhook.site: показує кожен запит, що надійшов",
    notebooks="03",
    compose_env={"INSPECTOR_PUBLIC_URL": "http://inspector:8003"},  # bin URLs the payments container can reach
)
