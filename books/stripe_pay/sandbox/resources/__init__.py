"""The sandbox's resource families, composed into one :class:`Backend` (moto's ec2 layout).

Each module is one family: its models, its state handling and its handlers. A new family is
one more module, and one more base of :class:`Backend` here (a family that builds on others
subclasses them, and comes before them in this list).
"""

from __future__ import annotations

from .balance import Balances
from .catalog import Catalog
from .checkout import Checkout
from .credit_notes import CreditNotes
from .customers import Customers
from .discounts import Discounts
from .invoices import Invoices
from .payment_methods import PaymentMethods
from .payments import Payments
from .plans import Plans
from .portal import Portal
from .quotes import Quotes
from .schedules import Schedules
from .subscriptions import Subscriptions
from .taxes import TaxRates
from .webhooks import Webhooks


class Backend(Webhooks, Schedules, Quotes, Subscriptions, CreditNotes, Checkout, Invoices,
              Discounts, TaxRates, Payments, PaymentMethods, Portal, Customers, Balances, Plans,
              Catalog):
    """Every object of one sandbox, and the operations the API performs on them."""


__all__ = ["Backend"]
