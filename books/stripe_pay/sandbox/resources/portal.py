"""The customer portal: its configurations (what it shows and lets customers change) and
its sessions (a link that lets one customer in).

A session's ``url`` is the sandbox's own ``GET /_sandbox/portal/{id}`` control, which
answers what the portal would show that customer: the configuration's features, the
customer, where to return. The account's first configuration is its default, used by a
session that names none. The subscription features (cancel, pause, update) are stored and
shown as configured; no one acts in the portal, so nothing acts on them.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import attrs

from ..backend import Equals, Resource, Store, handles
from ..errors import invalid_request, no_such
from ..rules import blank_to_none, merge_metadata
from ..shapes import Shape, derived
from .catalog import Price, Product
from .customers import Customers

#: Stripe's settings of each feature a configuration does not give.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "customer_update": {"allowed_updates": [], "enabled": False},
    "invoice_history": {"enabled": False},
    "payment_method_update": {"enabled": False, "payment_method_configuration": None},
    "subscription_cancel": {
        "cancellation_reason": {"enabled": False, "feedback_options": None, "options": []},
        "enabled": False, "mode": "at_period_end", "proration_behavior": "none"},
    "subscription_pause": {"duration": {"interval_options": [], "type": "indefinite"},
                           "enabled": False},
    "subscription_update": {
        "billing_cycle_anchor": None, "default_allowed_updates": [], "enabled": False,
        "products": [], "proration_behavior": "none",
        "schedule_at_period_end": {"conditions": []},
        "trial_update_behavior": "end_trial"},
}


@attrs.define(eq=False)
class PortalConfiguration:
    id: str
    seq: int
    created: int
    updated: int
    features: dict[str, Any] = attrs.field(factory=lambda: copy.deepcopy(DEFAULT_FEATURES))
    business_profile: dict[str, Any] = attrs.field(factory=lambda: {
        "headline": None, "privacy_policy_url": None, "terms_of_service_url": None})
    default_return_url: str | None = None
    login_page_enabled: bool = False
    is_default: bool = False
    active: bool = True
    name: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "billing_portal.configuration"


def _login_page(configuration: PortalConfiguration, backend: Any) -> dict[str, Any]:
    url = (f"{backend.origin}/_sandbox/portal/login/{configuration.id}"
           if configuration.login_page_enabled else None)
    return {"enabled": configuration.login_page_enabled, "url": url}


CONFIGURATION = Shape(
    "billing_portal.configuration", "billing_portal.Configuration",
    own=("active", "business_profile", "created", "default_return_url", "features",
         "is_default", "metadata", "name", "updated"),
    fixed={"application": None, "livemode": False},
    derived=(derived("login_page", _login_page),),
)


@attrs.define(eq=False)
class PortalSession:
    id: str
    seq: int
    created: int
    customer: str
    configuration: str
    url: str
    return_url: str | None = None
    locale: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "billing_portal.session"


SESSION = Shape(
    "billing_portal.session", "billing_portal.Session",
    own=("configuration", "created", "customer", "locale", "return_url", "url"),
    fixed={"after_expiration": None, "customer_account": None, "flow": None,
           "livemode": False, "on_behalf_of": None},
)


class Portal(Customers):
    """The customer portal family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(CONFIGURATION, "portal_configurations",
                 filters=(Equals("active"), Equals("is_default"))),
        Resource(SESSION, "portal_sessions"),
    )
    portal_configurations: Store[PortalConfiguration]
    portal_sessions: Store[PortalSession]
    products: Store[Product]  # (the catalog's: subscription_update offers some products)
    prices: Store[Price]
    #: where the sandbox is served, as the request being handled reached it (the server
    #: sets it), so that a session's url leads back to it
    origin: str = "http://127.0.0.1:12111"

    @handles("billing_portal.configuration", "create")
    def create_portal_configuration(self, params: dict[str, Any]) -> PortalConfiguration:
        now = self.now()
        configuration = PortalConfiguration(
            id=self.new_id("bpc_"), seq=self._next_seq(), created=now, updated=now,
            is_default=not self.lookup("billing_portal.configuration", "is_default", True))
        self._apply_configuration(configuration, params)
        return self.change("create", configuration)

    @handles("billing_portal.configuration", "update")
    def update_portal_configuration(self, configuration_id: str, params: dict[str, Any]
                                    ) -> PortalConfiguration:
        configuration = self.change("update", self.portal_configurations.get(configuration_id))
        if params.get("active") is False and configuration.is_default:
            raise invalid_request("The default configuration cannot be deactivated.",
                                  param="active")
        if "active" in params:
            configuration.active = params["active"]
        self._apply_configuration(configuration, params)
        configuration.updated = self.now()
        return configuration

    def _apply_configuration(self, configuration: PortalConfiguration,
                             params: dict[str, Any]) -> None:
        features = copy.deepcopy(configuration.features)
        for name, given in params.get("features", {}).items():
            if name == "subscription_update" and given.get("products"):
                given = {**given, "products": [
                    self._portal_product(one, f"features[{name}][products][{n}]")
                    for n, one in enumerate(given["products"])]}
            _merge(features[name], given)
        configuration.features = features
        if "business_profile" in params:
            profile = dict(configuration.business_profile)
            for field, value in params["business_profile"].items():
                profile[field] = blank_to_none(value)
            configuration.business_profile = profile
        if "default_return_url" in params:
            configuration.default_return_url = blank_to_none(params["default_return_url"])
        if "login_page" in params:
            configuration.login_page_enabled = params["login_page"]["enabled"]
        if "name" in params:
            configuration.name = blank_to_none(params["name"])
        if "metadata" in params:
            configuration.metadata = merge_metadata(configuration.metadata, params["metadata"])

    def _portal_product(self, given: dict[str, Any], param: str) -> dict[str, Any]:
        """A product customers may switch to, with its recurring prices they may choose."""
        product = self.products.get(given["product"], param=f"{param}[product]")
        for n, price_id in enumerate(given["prices"]):
            price = self.prices.get(price_id, param=f"{param}[prices][{n}]")
            if price.product != product.id or price.type != "recurring":
                raise invalid_request(
                    f"The price {price.id} must be a recurring price of the product "
                    f"{product.id}.", param=f"{param}[prices][{n}]")
        quantity = {"enabled": False, "maximum": None, "minimum": 1,
                    **given.get("adjustable_quantity", {})}
        return {"adjustable_quantity": quantity, "prices": list(given["prices"]),
                "product": product.id}

    @handles("billing_portal.session", "create")
    def create_portal_session(self, params: dict[str, Any]) -> PortalSession:
        """A link into the portal for one customer, with a configuration (the default
        unless named) that is active."""
        for unsupported, kind in (("customer_account", "account"),
                                  ("on_behalf_of", "account")):
            if unsupported in params:
                raise no_such(kind, params[unsupported], param=unsupported)
        if "flow_data" in params:
            raise invalid_request("Deep links (flow_data) are not supported by this sandbox's "
                                  "portal.", param="flow_data")
        if "customer" not in params:
            raise invalid_request("Missing required param: customer.", param="customer",
                                  code="parameter_missing")
        customer = self.customers.get(params["customer"], param="customer")
        if "configuration" in params:
            configuration = self.portal_configurations.get(params["configuration"],
                                                           param="configuration")
        else:
            found = self.lookup("billing_portal.configuration", "is_default", True)
            if not found:
                raise invalid_request(
                    "No configuration provided and the default configuration has not been "
                    "created: create a billing portal configuration first.",
                    param="configuration")
            configuration = found[0]
        if not configuration.active:
            raise invalid_request(f"The configuration {configuration.id} is not active.",
                                  param="configuration")
        return_url = params.get("return_url", configuration.default_return_url)
        session_id = self.new_id("bps_")
        session = PortalSession(
            id=session_id, seq=self._next_seq(), created=self.now(), customer=customer.id,
            configuration=configuration.id, return_url=return_url,
            locale=params.get("locale"), url=f"{self.origin}/_sandbox/portal/{session_id}")
        return self.change("create", session)

    def portal_page(self, session_id: str) -> dict[str, Any]:
        """What the portal shows at a session's url: the customer, what the configuration
        lets them do, and where they go back to."""
        session = self.portal_sessions.objects.get(session_id)
        if session is None:
            raise no_such("billing_portal.session", session_id)
        configuration = self.portal_configurations.objects[session.configuration]
        enabled = sorted(name for name, feature in configuration.features.items()
                         if feature.get("enabled"))
        return {"session": session.id, "customer": self.render(
                    self.customers.objects[session.customer]),
                "configuration": configuration.id, "features": enabled,
                "headline": configuration.business_profile.get("headline"),
                "return_url": session.return_url}


    def portal_login(self, configuration_id: str) -> dict[str, Any]:
        """What a configuration's login page shows (customers sign in by email there)."""
        configuration = self.portal_configurations.objects.get(configuration_id)
        if configuration is None or not configuration.login_page_enabled:
            raise no_such("billing_portal.configuration", configuration_id)
        return {"configuration": configuration.id, "login": "email",
                "headline": configuration.business_profile.get("headline")}


def _merge(current: dict[str, Any], given: dict[str, Any]) -> None:
    """``given``'s settings over ``current``'s, nested objects merged, lists replaced."""
    for name, value in given.items():
        if isinstance(value, dict) and isinstance(current.get(name), dict):
            _merge(current[name], value)
        else:
            current[name] = [] if value == "" else value
