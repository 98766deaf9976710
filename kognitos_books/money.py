"""Currencies and their minor units, for turning ``$15.00`` into ``1500``.

Amounts written as plain integers are already in the smallest unit (as payment APIs take
them); money literals are converted with the currency's own number of decimals, so
``¥1500`` is 1500 and ``15.000 kwd`` is 15000.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 codes in use, by number of decimals. Payment services follow ISO except where
# noted; a code missing here is reported as unknown rather than guessed.
_ZERO = ("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf isk")
_THREE = "bhd iqd jod kwd lyd omr tnd"
_TWO = (
    "aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd btn bwp byn "
    "bzd cad cdf chf cny cop crc cup cve czk dkk dop dzd egp ern etb eur fjd fkp gbp gel ghs "
    "gip gmd gtq gyd hkd hnl htg huf idr ils inr irr jmd kes kgs khr kpw kyd kzt lak lbp lkr "
    "lrd lsl mad mdl mkd mmk mnt mop mru mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd pab "
    "pen pgk php pkr pln qar ron rsd rub sar sbd scr sdg sek sgd shp sle sll sos srd ssp stn "
    "svc syp szl thb tjs tmt top try ttd twd tzs uah usd uyu uzs ves wst xcd yer zar zmw zwl"
)

DECIMALS: dict[str, int] = {
    **{c: 2 for c in _TWO.split()},
    **{c: 0 for c in _ZERO.split()},
    **{c: 3 for c in _THREE.split()},
}

#: What each currency symbol may stand for; the first is assumed when nothing else says.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "$": ("usd", "cad", "aud", "nzd", "sgd", "hkd", "mxn"),
    "€": ("eur",),
    "£": ("gbp",),
    "¥": ("jpy", "cny"),
    "₹": ("inr",),
}


class MoneyError(ValueError):
    """A money literal that cannot be turned into a minor-unit amount."""


def minor_units(amount: Decimal, currency: str) -> int:
    """``amount`` in major units of ``currency`` as an integer number of minor units.

    Raises :class:`MoneyError` for an unknown currency or more decimals than it has.
    """
    code = currency.lower()
    if code not in DECIMALS:
        raise MoneyError(f"unknown currency {currency!r}")
    places = DECIMALS[code]
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} {code} has more decimals than {code} allows ({places})"
        )
    return int(scaled)


def shown(units: int, currency: str) -> str:
    """Minor units as people read them: ``421000, "usd"`` is ``4,210.00 usd``."""
    places = DECIMALS.get(currency.lower(), 2)
    major = Decimal(units).scaleb(-places)
    return f"{major:,.{places}f} {currency.lower()}"
