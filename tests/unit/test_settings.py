"""Settings: CELL_* variables, validated at start, secrets masked, README table in sync."""

import msgspec
import pytest

from services.cli import config
from services.gateway.settings import GatewaySettings
from services.runtime.errors import ConfigurationError
from services.runtime.settings import CommonSettings, load, redacted


def test_values_come_from_prefixed_variables_and_are_converted():
    s = load(CommonSettings, {"CELL_KAFKA_TIMEOUT_S": "2.5", "CELL_TOPIC_PREFIX": "t1."})
    assert s.kafka_timeout_s == 2.5
    assert s.topic_prefix == "t1."
    assert s.kafka_bootstrap == "127.0.0.1:9092"  # default


def test_a_bad_value_names_the_variable():
    with pytest.raises(ConfigurationError, match="CELL_METRICS_PORT"):
        load(CommonSettings, {"CELL_METRICS_PORT": "70000"})
    with pytest.raises(ConfigurationError, match="CELL_LOG_FORMAT"):
        load(CommonSettings, {"CELL_LOG_FORMAT": "xml"})


def test_secrets_are_masked_when_logged():
    secret_fields = [
        f.name
        for f in msgspec.inspect.type_info(GatewaySettings).fields  # type: ignore[attr-defined]
        if isinstance(f.type, msgspec.inspect.Metadata) and (f.type.extra or {}).get("secret")
    ]
    assert secret_fields, "the gateway declares at least one secret (the cursor key)"
    env = {f"CELL_{name.upper()}": "x" * 40 for name in secret_fields}
    shown = redacted(load(GatewaySettings, env))
    for name in secret_fields:
        assert shown[name] == "***"


def test_readme_configuration_table_matches_the_code():
    table = config.render_markdown()
    assert "`CELL_KAFKA_BOOTSTRAP`" in table
    assert config.README.read_text() == config._readme_with(table), (
        "README.md's configuration table is stale: run `cell config --write-readme`"
    )
