"""Form fields of inventory's command pages: items as staff type or scan them, and their locations."""

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from catalog.models import Variant
from inventory.models import Location


def variants_by_code(codes: Iterable[str]) -> dict[str, Variant]:
    """Variants by SKU or barcode, as staff type or scan them: one query."""
    codes = set(codes)
    found: dict[str, Variant] = {}
    for variant in Variant.objects.filter(Q(sku__in=codes) | Q(barcode__in=codes)).select_related("product"):
        for code in (variant.sku, variant.barcode):
            if code in codes:
                found[code] = variant
    return found


class VariantField(forms.CharField):
    """A SKU or a barcode, cleaned to the variant."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("SKU or barcode"))
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        code = super().clean(value)
        if not code:
            return None
        variant = variants_by_code([code]).get(code)
        if variant is None:
            raise ValidationError(_("No variant has the SKU or barcode %(code)s."), params={"code": code})
        return variant


class LinesField(forms.CharField):
    """One line per item: a SKU or barcode, then a whole number. Cleaned to [(variant, number)]."""

    widget = forms.Textarea(attrs={"rows": 8, "cols": 50, "spellcheck": "false"})

    def __init__(self, *, minimum: int, **kwargs: Any) -> None:
        self.minimum = minimum
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value) or ""
        parsed: list[tuple[int, str, int]] = []
        errors = []
        for number, raw in enumerate(text.splitlines(), start=1):
            parts = raw.replace(",", " ").replace(";", " ").split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
                errors.append(_("Line %(number)d: write a SKU or barcode and a number.") % {"number": number})
                continue
            if int(parts[1]) < self.minimum:
                errors.append(
                    _("Line %(number)d: the number must be %(minimum)d or more.")
                    % {"number": number, "minimum": self.minimum}
                )
                continue
            parsed.append((number, parts[0], int(parts[1])))
        if not parsed and not errors:
            raise ValidationError(_("Write at least one line."))
        variants = variants_by_code(code for _number, code, _quantity in parsed)
        errors += [
            _("Line %(number)d: no variant has the SKU or barcode %(code)s.") % {"number": number, "code": code}
            for number, code, _quantity in parsed
            if code not in variants
        ]
        if errors:
            raise ValidationError(errors)
        return [(variants[code], quantity) for _number, code, quantity in parsed]


class LocationScopedForm(forms.Form):
    """A form whose `location` choices are the user's locations."""

    def __init__(self, *args: Any, locations: QuerySet[Location], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("location", "source"):
            if name in self.fields:
                self.fields[name].queryset = locations  # type: ignore[attr-defined]
