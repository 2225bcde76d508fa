import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from uuid import uuid4

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from config.admin_kit import (
    NoAddMixin,
    NoChangeMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ServiceAdminMixin,
    TermSearchMixin,
)
from config.exceptions import ApplicationError
from config.money import CURRENCY_MINOR_UNITS
from customers import selectors, services
from customers.models import (
    Consent,
    ContactPoint,
    Customer,
    CustomerMerge,
    DuplicateCandidate,
    DuplicateStatus,
    LoyaltyAccount,
    LoyaltyEntry,
    Segment,
    StoreCreditEntry,
)
from customers.segments import segment_members, segment_rules_validate

TIMELINE_ROWS = 50


class ContactPointInline(ReadOnlyInline):
    """Identities come through resolve, which normalises and de-duplicates them."""

    model = ContactPoint
    fields = ("kind", "value", "normalised_value", "channel", "created_at")
    readonly_fields = fields


class ConsentInline(ReadOnlyInline):
    model = Consent
    fields = ("channel", "purpose", "granted", "source", "recorded_at", "recorded_by_channel")
    readonly_fields = fields
    ordering = ("-recorded_at",)


class StoreCreditGrantForm(forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    currency = forms.ChoiceField(label=_("currency"), choices=[(code, code) for code in CURRENCY_MINOR_UNITS])
    reason = forms.CharField(
        label=_("reason"), max_length=200, help_text=_("Kept on the ledger and the customer's timeline.")
    )
    # New each time the page is opened: the same form sent twice grants once.
    form_token = forms.UUIDField(widget=forms.HiddenInput)


class LoyaltyAdjustForm(forms.Form):
    points = forms.IntegerField(
        label=_("points"),
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=_("Positive adds, negative takes away; never below zero."),
    )
    reason = forms.CharField(
        label=_("reason"), max_length=200, help_text=_("Kept on the ledger and the customer's timeline.")
    )

    def clean_points(self) -> int:
        points: int = self.cleaned_data["points"]
        if points == 0:
            raise ValidationError(_("Not zero."), code="invalid")
        return points


@contextmanager
def refusal_on_fields() -> Iterator[None]:
    """A service's refusal naming fields, as errors on those fields of the form (and its message on top)."""
    try:
        yield
    except ApplicationError as exc:
        if not exc.fields:
            raise
        raise ValidationError({NON_FIELD_ERRORS: [exc.message], **exc.fields}) from exc


# The customer's pages that change money by hand: their permission and their page's URL name.
HAND_PAGES = {
    "store_credit_link": ("customers.grant_store_credit", "admin:customers_customer_store_credit"),
    "loyalty_points_link": ("customers.adjust_loyalty_points", "admin:customers_customer_loyalty_points"),
}


@admin.register(Customer)
class CustomerAdmin(NoAddMixin, TermSearchMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Customers come from channels through resolve, which de-duplicates them: no add page."""

    list_display = ("__str__", "identities", "country", "city", "first_seen_channel", "loyalty_points", "created_at")
    list_filter = (
        "first_seen_channel",
        "country",
        "preferred_contact_channel",
        ("erased_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("name",)
    search_help_text = _("Name, e-mail, phone in any format, social handle or tax id.")
    readonly_fields = (
        "first_seen_channel",
        "created_at",
        "updated_at",
        "erased_at",
        "loyalty_points",
        "timeline",
        *HAND_PAGES,
    )
    fieldsets = (
        (None, {"fields": ("name", "birth_date", "country", "city", "tax_id")}),
        (_("Preferences"), {"fields": ("preferred_language", "preferred_contact_channel")}),
        (
            _("Internal"),
            {"fields": ("notes", "loyalty_points", "first_seen_channel", "created_at", "updated_at", "erased_at")},
        ),
        (_("Timeline"), {"fields": ("timeline",)}),
    )
    inlines = (ContactPointInline, ConsentInline)
    actions = ("export_json", "erase")
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Customer]:
        return selectors.customer_list()

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The links to grant credit and adjust points, for those who may, on a customer not erased."""
        fieldsets = list(super().get_fieldsets(request, obj))
        links = [name for name, (perm, _url) in HAND_PAGES.items() if request.user.has_perm(perm)]
        if obj is None or obj.erased_at is not None or not links:
            return fieldsets
        return [*fieldsets[:-1], (_("Store credit and points by hand"), {"fields": links}), fieldsets[-1]]

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/store-credit/",
                self.admin_site.admin_view(self.store_credit_view),
                name="customers_customer_store_credit",
            ),
            path(
                "<path:object_id>/loyalty-points/",
                self.admin_site.admin_view(self.loyalty_points_view),
                name="customers_customer_loyalty_points",
            ),
            *super().get_urls(),
        ]

    def _hand_page_customer(self, request: HttpRequest, object_id: str, link: str) -> Customer:
        if not request.user.has_perm(HAND_PAGES[link][0]):
            raise PermissionDenied
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        return customer

    def _customer_url(self, customer: Customer) -> str:
        return reverse("admin:customers_customer_change", args=[customer.pk])

    def store_credit_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Grant store credit by hand, with a reason: services.store_credit_grant_by_staff."""
        customer = self._hand_page_customer(request, object_id, "store_credit_link")

        def grant(data: dict[str, Any]) -> tuple[str, str]:
            with refusal_on_fields():
                services.store_credit_grant_by_staff(customer=customer, user=request.user, **data)
            message = _("%(amount)s %(currency)s of store credit granted to %(customer)s.") % {
                "amount": data["amount"],
                "currency": data["currency"],
                "customer": customer,
            }
            return str(message), self._customer_url(customer)

        form = StoreCreditGrantForm(
            request.POST if request.method == "POST" else None,
            initial={"currency": settings.DEFAULT_CURRENCY, "form_token": uuid4()},
        )
        return self.command_page(
            request,
            form,
            act=grant,
            title=str(_("Grant store credit to %(customer)s") % {"customer": customer}),
            submit_label=str(_("Grant")),
        )

    def loyalty_points_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Add or take loyalty points by hand, with a reason: services.loyalty_adjust_by_staff."""
        customer = self._hand_page_customer(request, object_id, "loyalty_points_link")

        def adjust(data: dict[str, Any]) -> tuple[str, str]:
            with refusal_on_fields():
                services.loyalty_adjust_by_staff(customer=customer, user=request.user, **data)
            message = _("Loyalty points of %(customer)s adjusted by %(points)+d.") % {
                "customer": customer,
                "points": data["points"],
            }
            return str(message), self._customer_url(customer)

        return self.command_page(
            request,
            LoyaltyAdjustForm(request.POST if request.method == "POST" else None),
            act=adjust,
            title=str(_("Adjust the loyalty points of %(customer)s") % {"customer": customer}),
            submit_label=str(_("Adjust")),
        )

    @admin.display(description=_("store credit"))
    def store_credit_link(self, customer: Customer) -> str:
        balances = ", ".join(f"{a.balance} {a.currency}" for a in customer.store_credit_accounts.all()) or "0"
        url = reverse(HAND_PAGES["store_credit_link"][1], args=[customer.pk])
        return format_html('{} · <a href="{}">{}</a>', balances, url, _("Grant store credit"))

    @admin.display(description=_("loyalty points"))
    def loyalty_points_link(self, customer: Customer) -> str:
        url = reverse(HAND_PAGES["loyalty_points_link"][1], args=[customer.pk])
        return format_html('{} · <a href="{}">{}</a>', self.loyalty_points(customer), url, _("Adjust points"))

    def search(self, request: HttpRequest, queryset: QuerySet[Customer], term: str) -> QuerySet[Customer]:
        return queryset.filter(selectors.customer_search_q(term))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "Delete" here means the erase action (GDPR: anonymised, fiscal records kept). No page
        # or bulk action removes the row itself, with the history of everything it bought.
        return obj is None and super().has_delete_permission(request)

    def get_actions(
        self, request: HttpRequest, action_location: Any = admin.ActionLocation.CHANGE_LIST
    ) -> dict[str, Any]:
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        class ValidatedCustomerForm(form):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                # The service's rules (tax id, dates) as field errors, before anything is saved.
                cleaned: dict[str, Any] = super().clean()
                try:
                    services.profile.customer_update_validate(
                        customer=self.instance,
                        **{name: cleaned[name] for name in self.changed_data if name in services.profile.UPDATABLE},
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        self.add_error(field if field in self.fields else None, errors)
                except ApplicationError as exc:
                    self.add_error(None, exc.message)
                return cleaned

        return ValidatedCustomerForm

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in services.profile.UPDATABLE}
        services.customer_update(customer=Customer.objects.get(pk=obj.pk), **fields)

    @admin.display(description=_("identities"))
    def identities(self, customer: Customer) -> str:
        return ", ".join(point.normalised_value for point in customer.contact_points.all())

    @admin.display(description=_("loyalty points"))
    def loyalty_points(self, customer: Customer) -> int:
        account = getattr(customer, "loyalty_account", None)
        return account.balance if account else 0

    @admin.display(description=_("latest events"))
    def timeline(self, customer: Customer) -> str:
        events = selectors.customer_timeline(customer=customer)[:TIMELINE_ROWS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{event.occurred_at:%Y-%m-%d %H:%M}",
                    event.get_channel_display(),
                    event.get_kind_display(),
                    event.detail,
                )
                for event in events
            ),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"),
            _("Channel"),
            _("What"),
            _("Detail"),
            rows,
        )

    def has_export_permission(self, request: HttpRequest) -> bool:
        """GDPR exports hand over everything held about a person: the team lead's job, not every viewer's."""
        return request.user.has_perm(f"{self.opts.app_label}.export_customer")

    @admin.action(description=_("Export everything held (JSON)"), permissions=["export"])
    def export_json(self, request: HttpRequest, queryset: QuerySet[Customer]) -> HttpResponse:
        data = [services.customer_export(customer=customer) for customer in queryset]
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="customers-export.json"'
        return response

    @admin.action(description=_("Erase personal data (GDPR)"), permissions=["delete"])
    def erase(self, request: HttpRequest, queryset: QuerySet[Customer]) -> None:
        for customer in queryset.filter(erased_at=None):
            services.customer_erase(customer=customer)
        self.message_user(request, _("Personal data erased."), messages.SUCCESS)


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(NoAddMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("customer", "other", "reason", "status", "created_at")
    list_filter = ("status", "reason")
    list_select_related = ("customer", "other")
    search_fields = ("customer__name", "other__name")
    actions = ("merge_into_older", "dismiss")
    readonly_fields = ("customer", "other", "reason", "status", "created_at")

    @admin.action(description=_("Merge: keep the older profile"))
    def merge_into_older(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> None:
        merged = self.run_for_each(
            request,
            queryset.filter(status=DuplicateStatus.OPEN).select_related("customer", "other"),
            # The pair is stored lower id first: the older profile is `customer`.
            lambda pair: services.customer_merge(keep=pair.customer, remove=pair.other, merged_by=request.user),
            label=str,
        )
        self.message_user(request, _("%(count)d pairs merged.") % {"count": merged}, messages.SUCCESS)

    @admin.action(description=_("Not the same person"))
    def dismiss(self, request: HttpRequest, queryset: QuerySet[DuplicateCandidate]) -> None:
        count = services.duplicate_candidates_dismiss(candidates=queryset)
        self.message_user(request, _("%(count)d pairs dismissed.") % {"count": count})


@admin.register(CustomerMerge)
class CustomerMergeAdmin(NoAddMixin, NoChangeMixin, admin.ModelAdmin):
    """The record of each merge, written by customer_merge."""

    list_display = ("__str__", "customer", "merged_by", "created_at")
    readonly_fields = ("customer", "removed_customer_id", "removed_snapshot", "moved", "merged_by", "created_at")
    list_select_related = ("customer", "merged_by")


class LoyaltyEntryInline(ReadOnlyInline):
    model = LoyaltyEntry
    fk_name = "account"
    fields = ("created_at", "kind", "points", "reference", "channel", "reason", "created_by")
    readonly_fields = fields
    ordering = ("-created_at", "-id")


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(NoAddMixin, admin.ModelAdmin):
    list_display = ("customer", "balance", "last_activity_at")
    list_select_related = ("customer",)
    search_fields = ("customer__name",)
    readonly_fields = ("customer", "balance", "last_activity_at", "created_at")
    inlines = (LoyaltyEntryInline,)


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(ReadOnlyAdminMixin, TermSearchMixin, admin.ModelAdmin):
    """The store-credit ledger, read-only: credit is granted by refunds, and by staff by hand on the
    customer's page (with a reason and their name), and spent on orders."""

    list_display = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel", "created_by")
    list_filter = ("channel", "account__currency", "reason")
    search_fields = ("reference",)
    search_help_text = _("The customer's e-mail, phone, handle, tax id or name, or an order number.")
    list_select_related = ("account__customer", "created_by")
    fields = ("created_at", "customer", "amount", "currency", "reference", "reason", "channel", "created_by")
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    def search(
        self, request: HttpRequest, queryset: QuerySet[StoreCreditEntry], term: str
    ) -> QuerySet[StoreCreditEntry]:
        customers = Customer.objects.filter(selectors.customer_search_q(term)).values("pk")
        return queryset.filter(Q(account__customer__in=customers) | Q(reference__iexact=term))

    @admin.display(description=_("customer"), ordering="account__customer")
    def customer(self, entry: StoreCreditEntry) -> Customer:
        return entry.account.customer

    @admin.display(description=_("currency"), ordering="account__currency")
    def currency(self, entry: StoreCreditEntry) -> str:
        return entry.account.currency


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ("name", "description", "rules")

    def clean_rules(self) -> Any:
        rules = self.cleaned_data["rules"]
        try:
            segment_rules_validate(rules)
        except ValidationError as exc:
            raise ValidationError(
                [
                    _("%(rule)s: %(errors)s") % {"rule": name, "errors": "; ".join(errors)}
                    for name, errors in exc.message_dict.items()
                ]
            ) from exc
        return rules


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "updated_at")
    search_fields = ("name",)
    readonly_fields = ("member_count",)
    actions = ("export_members_csv",)

    form = SegmentForm

    @admin.display(description=_("members now"))
    def member_count(self, segment: Segment) -> int | str:
        try:
            return segment_members(rules=segment.rules).count()
        except ValidationError as exc:
            return "; ".join(exc.messages)

    def has_export_permission(self, request: HttpRequest) -> bool:
        # The file lists people: who may read customers may take it away, not whoever keeps segments.
        return bool(request.user.has_perms(("customers.view_segment", "customers.view_customer")))

    @admin.action(description=_("Export members (CSV)"), permissions=["export"])
    def export_members_csv(self, request: HttpRequest, queryset: QuerySet[Segment]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="segment-members.csv"'
        writer = csv.writer(response)
        writer.writerow(["segment", "customer_id", "name", "country", "city", "preferred_contact_channel"])
        for segment in queryset:
            for customer in segment_members(rules=segment.rules).only(
                "id", "name", "country", "city", "preferred_contact_channel"
            ):
                writer.writerow(
                    [
                        segment.name,
                        customer.pk,
                        customer.name,
                        customer.country,
                        customer.city,
                        customer.preferred_contact_channel,
                    ]
                )
        return response
