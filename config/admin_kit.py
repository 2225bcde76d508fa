"""The admin kit: what every app's admin shares (DESIGN.md, "What every app shares").

An app's admin lists and shows its rows; every write is a service call. The kit holds the parts
of that which are the same in every app, so each app's admin says only what is its own:

- Who may do what on a page, as a few mixins instead of a `has_*_permission` override in every
  class: rows made by services are never added in a form (`NoAddMixin`), ledgers and issued
  documents are never edited or deleted (`ReadOnlyAdminMixin`), and a page that is read-only
  while its actions change things keeps the change permission for the actions
  (`ReadOnlyPageMixin`). `ReadOnlyInline` shows a row's children without a form.
- `ServiceAdminMixin`: one form page in the admin's look (`form_page`), a form whose valid POST
  calls one service (`command_page`), an action that asks for a form first
  (`action_form_page`), and an action that calls a service for each selected row
  (`run_for_each`). A service's refusal changes nothing and is shown to staff: as a form's
  errors, or as one message per refused row beside the count of rows done.
- Filters and search: `IdChoiceFilter` offers only the rows this user may see (their
  locations), `QueryChoiceFilter` a few named conditions, `TermSearchMixin` answers the search
  box with the app's own lookup (identities, order numbers) instead of a LIKE over columns.

The kit imports no domain app: apps import it, never each other's admin (pyproject.toml's
import-linter contracts).
"""

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_protect

from config.exceptions import ApplicationError

# An action offered both on the list and on an object's page.
BOTH_LOCATIONS = [admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM]
# The field an action chosen on an object's page comes in (the list's is "action").
CHANGE_FORM_ACTION = f"{admin.ActionLocation.CHANGE_FORM.value}-action"
# What a service raises when it says no: shown to staff, nothing changed.
REFUSALS = (PermissionDenied, ValidationError, ApplicationError)
FORM_PAGE_TEMPLATE = "admin_kit/form.html"

# The base of a mixin for admins: to the type checker an admin (its self and super() are one),
# at run time a plain class, so that it mixes into any admin.
if TYPE_CHECKING:
    from django.contrib.admin.options import BaseModelAdmin
    from django_stubs_ext import StrOrPromise  # a text or a lazy translation (stubs only, not installed to run)

    _PermissionsBase = BaseModelAdmin
    AdminMixinBase = admin.ModelAdmin
else:
    _PermissionsBase = AdminMixinBase = object


# --- Who may do what --------------------------------------------------------------------------


class NoAddMixin(_PermissionsBase):
    """Rows made by services (which check and record what a form would not): no add page."""

    # `obj` for inlines, whose add permission is asked per parent.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoChangeMixin(_PermissionsBase):
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteMixin(_PermissionsBase):
    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdminMixin(NoAddMixin, NoChangeMixin, NoDeleteMixin):
    """Ledgers and records written only by services: read, never added, edited or deleted here."""


class ReadOnlyPageMixin(_PermissionsBase):
    """An object's page is read-only; the change permission is what runs the actions (and forms)
    that move the object on through its services."""

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A row's children shown as a table, without a form."""

    extra = 0
    can_delete = False
    show_change_link = False


# --- Filters and search -----------------------------------------------------------------------


class IdChoiceFilter(admin.SimpleListFilter):
    """A filter by one row's id, offering only the rows `options` gives this user;
    `paths` name the lookups to that row, any of which may match."""

    paths: tuple[str, ...] = ()

    def options(self, request: HttpRequest) -> list[tuple[str, str]]:
        raise NotImplementedError

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return self.options(request)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        matches = Q()
        for path in self.paths:
            matches |= Q(**{path: int(value)})
        return queryset.filter(matches)


class QueryChoiceFilter(admin.SimpleListFilter):
    """A filter of a few named conditions: `queries` maps each value to its label and condition."""

    queries: "dict[str, tuple[StrOrPromise, Q]]" = {}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [(value, label) for value, (label, _condition) in self.queries.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        choice = self.queries.get(self.value() or "")
        return queryset.filter(choice[1]) if choice else queryset


class TermSearchMixin(AdminMixinBase):
    """The search box answered by `search` (the app's own lookup: identities as each kind is
    normalised, order numbers as staff type them), never twice the same row; empty, it lists all."""

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        raise NotImplementedError

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        return (self.search(request, queryset, term) if term else queryset), False


# --- Refusals ---------------------------------------------------------------------------------


def service_error_text(exc: ApplicationError) -> str:
    """The service's message and, where it refused some lines (`extra["lines"]`, as stock
    refusals do), which lines and what is available."""
    details = [
        _("%(sku)s at %(location)s: %(requested)s asked, %(available)s available")
        % {key: line.get(key) for key in ("sku", "location", "requested", "available")}
        for line in exc.extra.get("lines") or []
    ]
    return " ".join([exc.message, "; ".join(str(detail) for detail in details)]).strip()


# --- Form pages, command pages, actions -------------------------------------------------------


def form_data(request: HttpRequest) -> Any:
    """What a command page's form is bound to: the POST, or nothing on the first showing."""
    return request.POST if request.method == "POST" else None


class UseCaseFormMixin(AdminMixinBase):
    """An add or change form that saves through a use case (`save_model` calls one service).

    Django runs a form's POST inside an atomic block; a use case opens its own durable
    transaction and refuses to run inside another (config.transactions). Here the POST runs
    as Django runs a GET: the use case is the transaction, and `save_model` makes all of its
    writes through that one service call.
    """

    @method_decorator(csrf_protect)
    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        # Django's changeform_view is this private method inside `transaction.atomic`; calling it
        # directly is the one way to drop that block without copying Django's form handling. Private,
        # so tests/config/test_admin_kit.py fails if Django renames it or a POST runs atomic again.
        return self._changeform_view(request, object_id, form_url, extra_context)  # type: ignore[attr-defined]


class ServiceAdminMixin(UseCaseFormMixin):
    """An admin whose writes are service calls: form pages, command pages, actions per row
    (also those chosen on an object's page, which Django runs in the change form's POST)."""

    # What staff read when a service refuses for want of permission. None: the service's own words.
    forbidden_text: "StrOrPromise | None" = None

    def refusal_text(self, exc: Exception) -> str:
        """Why a service said no, as staff read it."""
        if isinstance(exc, PermissionDenied):
            return str(self.forbidden_text or exc)
        if isinstance(exc, ValidationError):
            return " ".join(exc.messages)
        if isinstance(exc, ApplicationError):
            return service_error_text(exc)
        raise exc

    def form_add_refusal(self, form: forms.Form, exc: Exception) -> None:
        """A service's refusal as form errors: field errors on their fields, the rest on top."""
        if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        elif isinstance(exc, ValidationError):
            form.add_error(None, exc.messages)
        else:
            form.add_error(None, self.refusal_text(exc))

    def changelist_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def form_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        title: str,
        submit_label: str,
        cancel_url: str,
        intro: str = "",
        objects: Sequence[Any] = (),
        hidden: Sequence[tuple[str, Any]] = (),
    ) -> TemplateResponse:
        """One form, admin-styled, for a command; `objects` lists what it acts on."""
        for field in form.fields.values():
            field.label = capfirst(field.label)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            # AdminForm lays out any form; the stubs ask for a ModelForm.
            "adminform": helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}),  # type: ignore[arg-type]
            "media": self.media + form.media,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            "intro": intro,
            "objects": objects,
            "hidden": hidden,
        }
        return TemplateResponse(request, FORM_PAGE_TEMPLATE, context)

    def command_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        act: Callable[[dict[str, Any]], tuple[str, str]],
        title: str,
        submit_label: str,
    ) -> HttpResponse:
        """A form whose valid POST calls one service. `act` returns the success message and
        where to go next; the service's refusals show on the form and nothing changes."""
        if request.method == "POST" and form.is_valid():
            try:
                message, next_url = act(form.cleaned_data)
            except REFUSALS as exc:
                self.form_add_refusal(form, exc)
            else:
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(next_url)
        return self.form_page(request, form, title=title, submit_label=submit_label, cancel_url=self.changelist_url())

    def add_command_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        create: Callable[[dict[str, Any]], tuple[Model, str]],
        title: str,
        submit_label: str,
    ) -> HttpResponse:
        """The add page of a row that a service makes: a valid POST calls it (`create` returns the
        row and the success message), logs the addition and goes to the row's page."""
        if not self.has_add_permission(request):
            raise PermissionDenied

        def add(data: dict[str, Any]) -> tuple[str, str]:
            obj, message = create(data)
            self.log_addition(request, obj, [{"added": {}}])
            return message, reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj.pk])

        return self.command_page(request, form, act=add, title=title, submit_label=submit_label)

    @staticmethod
    def action_step_form[F: forms.Form](request: HttpRequest, form_class: type[F]) -> F:
        """An action's form: bound once its page is submitted, empty when the action is chosen."""
        return form_class(request.POST if "apply" in request.POST else None)

    def action_form_page(
        self,
        request: HttpRequest,
        form: forms.Form,
        *,
        action: str,
        selected: Iterable[Model],
        rows: Sequence[str],
        title: str,
        submit_label: str,
        intro: str,
    ) -> TemplateResponse:
        """The page an action asks its form on; submitting it runs the action on the same rows."""
        # Asked from an object's page, the answer goes back there.
        action_field = CHANGE_FORM_ACTION if CHANGE_FORM_ACTION in request.POST else "action"
        hidden = [(action_field, action), *((helpers.ACTION_CHECKBOX_NAME, obj.pk) for obj in selected)]
        return self.form_page(
            request,
            form,
            title=title,
            submit_label=submit_label,
            cancel_url=self.changelist_url(),
            intro=intro,
            objects=rows,
            hidden=hidden,
        )

    def run_for_each[T](
        self,
        request: HttpRequest,
        objects: Iterable[T],
        act: Callable[[T], object],
        *,
        label: Callable[[T], str],
        done: "StrOrPromise | None" = None,
        refused_level: int = messages.ERROR,
    ) -> int:
        """Call the service for each object: each refusal is a message naming the object (`label`)
        and leaves it as it was; the rest go on. `done`, a text with %(count)d (ngettext_lazy with
        "count" for plurals), is the success message when any was done. Returns how many were done."""
        count = 0
        for obj in objects:
            try:
                act(obj)
            except REFUSALS as exc:
                self.message_user(request, f"{label(obj)}: {self.refusal_text(exc)}", refused_level)
            else:
                count += 1
        if count and done is not None:
            self.message_user(request, done % {"count": count}, messages.SUCCESS)
        return count
