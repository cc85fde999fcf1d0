"""Kafka's jars: found in the cache or a release folder; fetched by mvn, or a sentence saying what to do."""
from __future__ import annotations

import pytest

from labkit.brokers import jars


def test_fetched_jars_are_cached_like_a_release_libs_folder(lab_brokers):
    libs = jars.available()
    assert libs == jars.cached_libs() and jars.libs_version(libs) == jars.KAFKA_VERSION
    names = {p.name for p in libs.glob("*.jar")}
    assert f"kafka_{jars.SCALA_VERSION}-{jars.KAFKA_VERSION}.jar" in names
    assert any(n.startswith("log4j-slf4j-impl-") for n in names)  # so the broker's log says why it stopped


def test_kafka_home_without_kafka_jars_is_not_a_release(tmp_path, monkeypatch):
    (tmp_path / "libs").mkdir()
    monkeypatch.setenv("KAFKA_HOME", str(tmp_path))
    assert jars.release_libs() is None


def test_fetch_without_maven_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn here
    with pytest.raises(jars.FetchError, match=r"Maven \(mvn\) is not installed: install Maven .*or set KAFKA_HOME"):
        jars.fetch()
