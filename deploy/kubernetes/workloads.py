"""Deployments of the workers and the gateway, and the gateway's Service.

Every container runs the one image as a non-root user with a read-only root filesystem, gets
its Kafka credentials from the secret Strimzi's user operator writes for its KafkaUser, and
is probed: workers on their Prometheus port, the gateway on ``/healthz`` and ``/readyz``.
Domain services run one active instance (their state is global; a second one would fence the
first), so they are replaced with ``Recreate``; the router and the gateway scale out.
"""

from __future__ import annotations

from typing import Any

from deploy.kubernetes.generate import (
    BOOTSTRAP,
    DOMAIN_SERVICES,
    GATEWAY_PORT,
    IMAGE,
    METRICS_PORT,
    NAMESPACE,
    REPLICATION_FACTOR,
    user_name,
)

Manifest = dict[str, Any]
_REPLICAS = {"router": 1, "gateway": 2}  # router: up to the submit lanes' partition count
_RESOURCES = {
    "gateway": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "router": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
}
_WORKER_RESOURCES = {"requests": {"cpu": "100m", "memory": "192Mi"}, "limits": {"memory": "384Mi"}}


def _labels(component: str) -> dict[str, str]:
    return {"app.kubernetes.io/part-of": "paris-cell", "app.kubernetes.io/name": component}


def _env(component: str) -> list[Manifest]:
    env: list[Manifest] = [
        {"name": "CELL_KAFKA_BOOTSTRAP", "value": BOOTSTRAP},
        {"name": "CELL_KAFKA_REPLICATION_FACTOR", "value": str(REPLICATION_FACTOR)},
        {"name": "CELL_LOG_FORMAT", "value": "json"},
        {"name": "CELL_DESKS_FILE", "value": "/etc/cell/desks.json"},
        {"name": "CELL_KAFKA_SASL_USERNAME", "value": user_name(component)},
        {
            "name": "CELL_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": user_name(component), "key": "password"}},
        },
    ]
    if component == "gateway":
        env += [
            {"name": "CELL_HOST", "value": "0.0.0.0"},  # noqa: S104 - inside the pod
            {"name": "CELL_PORT", "value": str(GATEWAY_PORT)},
            {
                "name": "CELL_CURSOR_SECRET",
                "valueFrom": {"secretKeyRef": {"name": "cell-gateway-cursor", "key": "secret"}},
            },
        ]
    else:
        env.append({"name": "CELL_METRICS_PORT", "value": str(METRICS_PORT)})
    return env


def _probes(component: str) -> Manifest:
    if component == "gateway":
        return {
            "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 10,
                "failureThreshold": 3,
            },
            "readinessProbe": {
                "httpGet": {"path": "/readyz", "port": "http"},
                "periodSeconds": 5,
                "failureThreshold": 2,
            },
        }
    # A worker's metrics server answers while its process lives; Kafka trouble restarts its
    # session inside the process, which a probe must not turn into a pod restart loop.
    probe = {"httpGet": {"path": "/metrics", "port": "metrics"}, "periodSeconds": 10}
    return {"livenessProbe": probe | {"failureThreshold": 3}, "readinessProbe": probe}


def deployment(component: str) -> Manifest:
    port = (
        {"name": "http", "containerPort": GATEWAY_PORT}
        if component == "gateway"
        else {"name": "metrics", "containerPort": METRICS_PORT}
    )
    container = {
        "name": component,
        "image": IMAGE,
        "args": [f"services.{component}"],
        "ports": [port],
        "env": _env(component),
        "resources": _RESOURCES.get(component, _WORKER_RESOURCES),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "desks", "mountPath": "/etc/cell", "readOnly": True}],
        **_probes(component),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": component, "namespace": NAMESPACE, "labels": _labels(component)},
        "spec": {
            "replicas": _REPLICAS.get(component, 1),
            "strategy": {"type": "Recreate" if component in DOMAIN_SERVICES else "RollingUpdate"},
            "selector": {"matchLabels": _labels(component)},
            "template": {
                "metadata": {
                    "labels": _labels(component),
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(port["containerPort"]),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "terminationGracePeriodSeconds": 30,
                    "containers": [container],
                    "volumes": [{"name": "desks", "configMap": {"name": "cell-desks"}}],
                },
            },
        },
    }


def gateway_service() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gateway", "namespace": NAMESPACE, "labels": _labels("gateway")},
        "spec": {
            "selector": _labels("gateway"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def desks_config_map(desks_json: str) -> Manifest:
    """The desk registry (token digests only, never clear tokens) the pods mount."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cell-desks", "namespace": NAMESPACE, "labels": _labels("desks")},
        "data": {"desks.json": desks_json},
    }
