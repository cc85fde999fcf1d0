"""The lab console: one page that shows the whole lab at a glance and stops, starts and breaks its parts."""
from labservices.common.declaration import Service

SERVICE = Service(
    name="console",
    port=8089,
    title="Lab console",
    teaches="the lab at a glance, in the browser: every component's health and memory (`lab status`), stop, "
            "start and chaos per service, webhook deliveries, queue depths, recent events and traces "
            "(`lab console` prints its address; under Binder it is in JupyterLab's Launcher)",
    about="консоль лабораторії в браузері: стан і пам'ять кожного компонента, stop/start і chaos, "
          "доставки вебхуків, глибина черг, останні події й траси",
    notebooks="00",
    needs=("rabbitmq",),
    compose_env={"LAB_BROWSER_HOST": "127.0.0.1"},  # its /docs links use the ports compose publishes
)
