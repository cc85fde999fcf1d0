"""A tiny lab service for the tests: a package and one declaration, like every lab service.

The lab finds it when ``LAB_SERVICE_PACKAGES=tests.toyservice`` (``tests/conftest.py`` sets it
for the processes that need it), and from then on it is everywhere a real service is.
"""
from labservices.common.declaration import Service

SERVICE = Service(
    name="toy",
    port=8099,
    title="Toy",
    teaches="tests: what every service shares",
    about="іграшковий сервіс для тестів",
    package="tests.toyservice",
)
