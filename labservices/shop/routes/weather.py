"""Weather: the lecture's API-key example, GET /api/weather?city=Kyiv&apikey=abc123def456.

The readings are made up and fixed, so a notebook's output never changes.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Query

from labservices.common import ApiError, error_responses
from labservices.common.http import LabRouter

from ..auth import CurrentClient
from ..models import Weather

router = LabRouter(tags=["Weather"])

OBSERVED_AT = "2024-02-08T10:30:00Z"

# name → (Ukrainian name, temperature, feels like, humidity %, wind km/h, conditions)
CITIES = {
    "kyiv": ("Kyiv", "Київ", -3.5, -8.0, 81, 14.4, "Хмарно, легкий сніг"),
    "lviv": ("Lviv", "Львів", -1.0, -4.5, 88, 10.8, "Туман"),
    "odesa": ("Odesa", "Одеса", 2.5, -1.0, 76, 21.6, "Вітряно, похмуро"),
    "kharkiv": ("Kharkiv", "Харків", -6.0, -11.5, 72, 18.0, "Ясно, морозно"),
    "dnipro": ("Dnipro", "Дніпро", -4.0, -8.5, 79, 12.6, "Мінлива хмарність"),
}
ALIASES = {"київ": "kyiv", "kiev": "kyiv", "львів": "lviv", "одеса": "odesa", "odessa": "odesa",
           "харків": "kharkiv", "дніпро": "dnipro"}


@router.get("/weather", response_model=Weather, responses=error_responses(400, 401, 404, 429))
def get_weather(_: CurrentClient, city: Annotated[str, Query(min_length=1, max_length=64, examples=["Kyiv"])]) -> Weather:
    """Current weather in a Ukrainian city (needs an API key, e.g. ?apikey=abc123def456)."""
    name = city.strip().lower()
    name = ALIASES.get(name, name)
    if name not in CITIES:
        raise ApiError(404, "CITY_NOT_FOUND", f"Немає даних про погоду в місті {city!r}",
                       [{"field": "city", "message": "Відомі міста: " + ", ".join(c[0] for c in CITIES.values())}])
    en, uk, temp, feels, humidity, wind, conditions = CITIES[name]
    return Weather(city=en, city_uk=uk, temperature_c=temp, feels_like_c=feels, humidity_pct=humidity,
                   wind_kph=wind, conditions=conditions, observed_at=OBSERVED_AT)
