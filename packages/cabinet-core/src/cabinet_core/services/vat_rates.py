"""Which VAT rates the document forms offer.

The tax rules know every rate and marker FA(3) has (23, 8, 5, 0 KR, 0 WDT, 0 EX, zw, oo, np I,
np II); a firm whose clients never export need not scroll past them. Admins choose the rates the
forms' lists offer on the VAT rates settings page; the operator's ``CABINET_VAT_OFFERED_RATES``
(codes separated by commas) wins. Nothing else changes: a rate a line already has stays offered
on that document, and imported invoices, KSeF and the API keep every rate of the rules.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from datetime import date

import attrs

from cabinet_core import access
from cabinet_core.entities import Actor
from cabinet_core.errors import N_, FieldError
from cabinet_core.services._base import Service, raise_if
from cabinet_core.vat import VatRate

#: The settings row: the offered codes, in the rules' order; absent means every rate.
OFFERED_RATES_KEY = "vat.offered_rates"
#: The operator's override: ``CABINET_VAT_OFFERED_RATES=23,8,5,zw``.
VAT_NAMESPACE = "vat"
ENVIRONMENT = "CABINET_VAT_OFFERED_RATES"


@attrs.frozen(kw_only=True)
class OfferedRatesForm:
    """The page: every rate of today's rules, the codes offered, whether the environment sets
    them."""

    rates: tuple[VatRate, ...]
    offered: tuple[str, ...]
    from_environment: bool


class VatRateService(Service):
    """``cabinet.vat_rates``: what the forms offer (anyone), the choice (admins, audited)."""

    def _today(self) -> date:
        return self.now().date()

    def _environment(self) -> tuple[str, ...] | None:
        text = self.cabinet.settings.plugin_config(VAT_NAMESPACE).get("offered_rates", "")
        codes = tuple(code.strip() for code in text.split(",") if code.strip())
        return codes or None

    def _chosen(self) -> tuple[str, ...] | None:
        from_env = self._environment()
        if from_env is not None:
            return from_env
        with self.store.transaction(readonly=True) as tx:
            stored = tx.get_setting(OFFERED_RATES_KEY)
        return tuple(str(code) for code in stored) if stored else None

    def offered(self, on: date, keep: Iterable[str] = ()) -> builtins.list[VatRate]:
        """The rates a form for a document dated ``on`` offers, in the rules' order: the chosen
        ones, and every code in ``keep`` (what the document's lines already have). When no
        chosen code is a rate of that day's rules, all of them."""
        rules = self.cabinet.tax_rules_on(on)
        chosen = self._chosen()
        kept = set(keep)
        if chosen is None or not set(chosen) & set(rules.codes):
            return list(rules.rates)
        return [rate for rate in rules.rates if rate.code in chosen or rate.code in kept]

    def form(self, actor: Actor) -> OfferedRatesForm:
        """The settings page (admins)."""
        access.require(access.can_change_settings(actor))
        rules = self.cabinet.tax_rules_on(self._today())
        chosen = self._chosen()
        return OfferedRatesForm(
            rates=rules.rates,
            offered=rules.codes if chosen is None else tuple(c for c in rules.codes if c in chosen),
            from_environment=self._environment() is not None,
        )

    def set_offered(self, actor: Actor, codes: Sequence[str]) -> OfferedRatesForm:
        """Offer ``codes`` (at least one, each a rate of today's rules); audited."""
        access.require(access.can_change_settings(actor))
        rules = self.cabinet.tax_rules_on(self._today())
        errors: list[FieldError] = []
        unknown = [code for code in codes if code not in rules.codes]
        if unknown:
            errors.append(
                FieldError(
                    field="rates",
                    code="unknown",
                    message=N_("Unknown VAT rate: %(codes)s."),
                    params={"codes": ", ".join(unknown)},
                )
            )
        elif not codes:
            errors.append(
                FieldError(
                    field="rates", code="required", message=N_("Choose at least one VAT rate.")
                )
            )
        raise_if(errors)
        new = [code for code in rules.codes if code in codes]
        with self.store.transaction() as tx:
            old = tx.get_setting(OFFERED_RATES_KEY)
            if old != new:
                tx.set_setting(OFFERED_RATES_KEY, new)
                self.record(
                    tx,
                    actor,
                    action="settings.set",
                    entity="setting",
                    entity_id=None,
                    client_id=None,
                    detail={"key": OFFERED_RATES_KEY, "old": old, "new": new},
                )
        return self.form(actor)


__all__ = ["ENVIRONMENT", "OFFERED_RATES_KEY", "OfferedRatesForm", "VatRateService"]
