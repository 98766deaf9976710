"""Webhook endpoints: where events are sent, and which events each wants.

``/v1/webhook_endpoints`` creates, retrieves, updates, lists and deletes them. An endpoint's
``whsec_`` secret is in its create answer only (never retrieved, listed, logged nor recorded
in the change log). Stripe's limit of 16 endpoints an account holds. Stripe wants ``https``
URLs; the sandbox takes ``http`` ones on this machine too (``127.0.0.1``, ``localhost``,
``::1``), since that is where a test's receiver listens.

Each event an operation emits is for every enabled endpoint whose ``enabled_events`` name its
type (``*`` for all); the endpoints it is for are its ``pending`` ones until they answer 2xx.
``delivery.py`` sends them.
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any, ClassVar

import attrs

from ..backend import Resource, Store, route
from ..changes import snapshot
from ..delivery import Deliveries, Job, Target
from ..errors import invalid_request
from ..event_types import matches
from ..pages import list_page
from ..rules import blank_to_none, merge_metadata
from ..shapes import STUB_ONLY, Shape
from .events import Event, Events

#: Stripe's limit of webhook endpoints per account.
MAX_ENDPOINTS = 16
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@attrs.define(eq=False)
class WebhookEndpoint:
    id: str
    seq: int
    created: int
    url: str
    enabled_events: list[str]
    secret: str = attrs.field(repr=False)
    api_version: str | None = None
    description: str | None = None
    status: str = "enabled"
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "webhook_endpoint"

    def wants(self, event_type: str) -> bool:
        return self.status == "enabled" and any(
            matches(pattern, event_type) for pattern in self.enabled_events)


WEBHOOK_ENDPOINT = Shape(
    "webhook_endpoint", "WebhookEndpoint",
    own=("api_version", "created", "description", "enabled_events", "metadata", "status",
         "url"),
    fixed={"application": None, "livemode": False},
    absent={"deleted": STUB_ONLY,
            "secret": "only in the answer of its create (never retrieved nor listed)"},
)


def checked_url(url: str) -> str:
    """``url`` if an endpoint may have it: https, or http on this machine."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return url
    raise invalid_request(
        f"Invalid URL: {url}. A webhook endpoint's URL must use https (this sandbox also "
        "takes http URLs on this machine: http://127.0.0.1, http://localhost).", param="url")


class Webhooks(Events):
    """The webhook endpoints family, and the deliveries of events to them."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(WEBHOOK_ENDPOINT, "webhook_endpoints"),
    )
    webhook_endpoints: Store[WebhookEndpoint]
    deliveries: Deliveries

    def _start_family(self) -> None:
        self.deliveries = Deliveries(self._target, self._delivered)

    def _reset_family(self) -> None:
        self.deliveries.reset()

    def events_emitted(self, events: list[Event]) -> None:
        """Each event is for the enabled endpoints that want its type: sent to each."""
        endpoints = [endpoint for endpoint in self.webhook_endpoints.objects.values()
                     if not endpoint.deleted]
        jobs = []
        for event in events:
            for endpoint in endpoints:
                if endpoint.wants(event.type):
                    event.pending.add(endpoint.id)
                    jobs.append(Job(event.id, endpoint.id))
        if jobs:
            self.deliveries.send(jobs)

    def _target(self, job: Job) -> Target | None:
        """Where and what to send for ``job`` now: None once its endpoint is disabled or
        deleted, or its event forgotten (retries stop)."""
        with self.lock:
            endpoint = self.webhook_endpoints.objects.get(job.endpoint)
            event = self.events.get(job.event)
            if endpoint is None or endpoint.deleted or endpoint.status != "enabled" \
                    or event is None:
                return None
            return Target(url=endpoint.url, secret=endpoint.secret, type=event.type,
                          body=snapshot(self.render(event)))

    def _delivered(self, job: Job) -> None:
        """The endpoint answered 2xx: the event is no longer pending there."""
        with self.lock:
            event = self.events.get(job.event)
            if event is not None:
                event.pending.discard(job.endpoint)

    @route("POST", "/v1/webhook_endpoints", "WebhookEndpointCreateParams",
           kind="webhook_endpoint", name="create")
    def create_webhook_endpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        """A new endpoint; the answer is the only one that shows its secret."""
        if self.webhook_endpoints.live_count() >= MAX_ENDPOINTS:
            raise invalid_request(
                f"You have reached the maximum of {MAX_ENDPOINTS} webhook endpoints on this "
                "account. Delete one you no longer use, then try again.")
        endpoint = WebhookEndpoint(
            id=self.new_id("we_"), seq=self._next_seq(), created=self.now(),
            url=checked_url(params["url"]), enabled_events=list(params["enabled_events"]),
            secret="whsec_" + secrets.token_urlsafe(24),
            api_version=params.get("api_version"))
        self._apply_endpoint(endpoint, params)
        self.change("create", endpoint)
        return {**self.render(endpoint, params.get("expand", ())), "secret": endpoint.secret}

    @route("GET", "/v1/webhook_endpoints/{id}", "WebhookEndpointRetrieveParams",
           kind="webhook_endpoint", name="retrieve")
    def retrieve_webhook_endpoint(self, endpoint_id: str, params: dict[str, Any]
                                  ) -> WebhookEndpoint:
        return self.webhook_endpoints.get(endpoint_id)

    @route("POST", "/v1/webhook_endpoints/{id}", "WebhookEndpointUpdateParams",
           kind="webhook_endpoint", name="update")
    def update_webhook_endpoint(self, endpoint_id: str, params: dict[str, Any]
                                ) -> WebhookEndpoint:
        """Change its url, events, description, metadata; ``disabled`` stops its deliveries
        (retries included) until enabled again."""
        endpoint = self.change("update", self.webhook_endpoints.get(endpoint_id))
        if "url" in params:
            endpoint.url = checked_url(params["url"])
        if "enabled_events" in params:
            endpoint.enabled_events = list(params["enabled_events"])
        if "disabled" in params:
            endpoint.status = "disabled" if params["disabled"] else "enabled"
        self._apply_endpoint(endpoint, params)
        return endpoint

    @staticmethod
    def _apply_endpoint(endpoint: WebhookEndpoint, params: dict[str, Any]) -> None:
        if "description" in params:
            endpoint.description = blank_to_none(params["description"])
        if "metadata" in params:
            endpoint.metadata = merge_metadata(endpoint.metadata, params["metadata"])

    @route("GET", "/v1/webhook_endpoints", "WebhookEndpointListParams",
           kind="webhook_endpoint", name="list")
    def list_webhook_endpoints(self, params: dict[str, Any]) -> dict[str, Any]:
        store = self.webhook_endpoints
        return list_page(self, store, store.every(), None, params, "/v1/webhook_endpoints")

    @route("DELETE", "/v1/webhook_endpoints/{id}", "WebhookEndpointDeleteParams",
           kind="webhook_endpoint", name="delete")
    def delete_webhook_endpoint(self, endpoint_id: str, params: dict[str, Any]
                                ) -> WebhookEndpoint:
        """Gone: nothing more is sent to it, retries included."""
        endpoint = self.change("delete", self.webhook_endpoints.get(endpoint_id))
        endpoint.deleted = True
        return endpoint
