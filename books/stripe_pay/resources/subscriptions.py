"""Subscriptions: recurring billing of a customer, its items, schedules of its changes, and
the test clocks that move its time."""

from __future__ import annotations

from ..declare import (
    Action,
    Default,
    ListFilter,
    Relation,
    Requirement,
    Shorthand,
    StripeObject,
)
from .discounts import DISCOUNTS, discount_actions

_DISCOUNT_ACTIONS, _DISCOUNT_DEFAULTS = discount_actions("subscription")

_CREATED = ListFilter("created", "created", "range")

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="subscription", plural="subscriptions", service="subscriptions",
        id_prefix="sub_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("price", "price"),
                      ListFilter("status", "status"),
                      ListFilter("collection_method", "collection_method"),
                      ListFilter("test_clock", "test_clock"), _CREATED,
                      ListFilter("current_period_start", "current_period_start", "range"),
                      ListFilter("current_period_end", "current_period_end", "range")),
        search_fields=frozenset({"created", "status", "metadata"}),
        relations=(Relation("customer", "customer"), Relation("test clock", "test_clock")),
        requirements=(Requirement("create", ("customer", "customer_account")),
                      Requirement("create", ("items", "price"))),
        # "create a subscription for the customer with the price is ...": one item.
        shorthands=(Shorthand("create", "items", ("price", "quantity")),),
        actions=(
            # Stripe's cancel is DELETE /v1/subscriptions/{id}: it ends the subscription now.
            Action("cancel", method="cancel", destructive=True,
                   help="end the subscription now (no more invoices)"),
            # Cancelling at the period's end is an update of cancel_at_period_end: it can
            # be undone (updated back to false) until the period ends.
            Action("cancel_at_period_end", word="cancel", phrase="at the end of the period",
                   method="update",
                   help="end the subscription when its current period ends (until then "
                        "it can be kept by updating cancel at period end to false)"),
            # Pausing collection is an update of pause_collection: the subscription carries
            # on, its invoices are kept as drafts until collection resumes.
            Action("pause", method="update",
                   help="stop collecting payment (invoices are kept as drafts) until "
                        "unpaused"),
            Action("unpause", method="update",
                   help="collect payment again after a pause"),
            Action("resume", method="resume", moves_money=True,
                   help="start a paused subscription (status paused) again, invoicing now"),
            *_DISCOUNT_ACTIONS,
        ),
        defaults=(
            Default("pause", "pause_collection", {"behavior": "keep_as_draft"}),
            Default("unpause", "pause_collection", ""),
            Default("cancel_at_period_end", "cancel_at_period_end", True),
            *_DISCOUNT_DEFAULTS,
        ),
        id_lists=(DISCOUNTS,),
        moves_money=("create",),  # (its first invoice is charged at once)
        delete_refusal="a subscription cannot be deleted; cancel it instead",
        delete_hint="cancel the subscription",
        help="a customer billed again and again for prices",
    ),
    StripeObject(
        noun="subscription item", plural="subscription items",
        service="subscription_items", id_prefix="si_",
        list_filters=(ListFilter("subscription", "subscription"),),
        parent="subscription",
        relations=(Relation("subscription", "subscription"),),
        help="one price, and its quantity, of a subscription",
    ),
    StripeObject(
        noun="subscription schedule", plural="subscription schedules",
        service="subscription_schedules", id_prefix="sub_sched_",
        list_filters=(ListFilter("customer", "customer"), _CREATED,
                      ListFilter("canceled_at", "canceled_at", "range"),
                      ListFilter("completed_at", "completed_at", "range"),
                      ListFilter("released_at", "released_at", "range"),
                      ListFilter("scheduled", "scheduled")),
        relations=(Relation("customer", "customer"),
                   Relation("subscription", "subscription")),
        requirements=(Requirement("create", ("customer", "customer_account",
                                             "from_subscription")),
                      Requirement("create", ("price", "phases"),
                                  unless=("from_subscription",))),
        # "create a subscription schedule for the customer with the price is ...": one
        # phase of one item, for the phase's duration or until its end date.
        shorthands=(Shorthand("create", "phases",
                              ("duration", "end_date", "trial", "trial_end",
                               "proration_behavior"),
                              inner=Shorthand("create", "items", ("price", "quantity"))),),
        actions=(
            Action("cancel", method="cancel", destructive=True,
                   help="cancel the schedule and its subscription now"),
            Action("release", method="release",
                   help="end the schedule, keeping its subscription as it is"),
        ),
        duties=("get", "create", "update"),
        help="planned changes of a subscription, phase after phase",
    ),
    StripeObject(
        noun="test clock", plural="test clocks", service="test_helpers.test_clocks",
        id_prefix="clock_",
        actions=(
            # "advance the test clock by 1 month" (from its frozen_time) or "to 2027-01-01"
            Action("advance", method="advance", time="frozen_time",
                   help="move the clock's time forward (to its frozen_time)"),
        ),
        duties=("get", "create", "delete"),
        help="a test-mode clock its customers' subscriptions follow",
    ),
)
