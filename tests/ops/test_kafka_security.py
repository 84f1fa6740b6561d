"""SCRAM credentials for a Strimzi KafkaUser: read from the environment, used, never shown."""

from __future__ import annotations

from services.runtime import kafka
from services.runtime.settings import CommonSettings, load, redacted


def test_no_user_means_plaintext() -> None:
    assert kafka.security(CommonSettings()) == {}


async def test_scram_user_reaches_every_client_and_the_password_is_masked() -> None:
    settings = load(
        CommonSettings,
        {"CELL_KAFKA_SASL_USERNAME": "cell-router", "CELL_KAFKA_SASL_PASSWORD": "s3cret-pw"},
    )
    assert kafka.security(settings) == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "cell-router",
        "sasl_plain_password": "s3cret-pw",
    }
    shown = redacted(settings)
    assert shown["kafka_sasl_password"] == "***"
    assert "s3cret-pw" not in repr(shown)
    producer = kafka.producer(settings, client_id="t")
    consumer = kafka.consumer(settings, group_id=None, client_id="t")
    admin = kafka.admin(settings, client_id="t")
    for client in (producer.client, consumer._client, admin._client):
        assert client._security_protocol == "SASL_PLAINTEXT"
        assert client._sasl_mechanism == "SCRAM-SHA-512"
    await producer.stop()
    await consumer.stop()
    await admin.close()
