from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from config.admin_kit import ReadOnlyAdminMixin, ServiceAdminMixin, UseCaseFormMixin
from config.models import ChannelClient, OutboxKind, OutboxMessage, WebhookSubscription
from config.outbox import outbox_replay, webhook_subscription_create
from config.scopes import Scope
from config.services import (
    channel_client_create,
    channel_client_rotate_token,
    channel_client_update,
    channel_clients_deactivate,
)


class ChannelClientForm(forms.ModelForm):
    """Scopes as one checkbox each, with what each lets the credential do."""

    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=Scope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each operation of the API needs one scope; a credential without it gets a 403."),
    )

    class Meta:
        model = ChannelClient
        fields = ("name", "channel", "throttle_rate", "reach", "scopes", "is_active")


@admin.register(ChannelClient)
class ChannelClientAdmin(UseCaseFormMixin, admin.ModelAdmin):
    """Credentials: created with their channel's default scopes and reach, then narrowed or widened here."""

    form = ChannelClientForm
    list_display = ("name", "channel", "kind_display", "reach", "token_prefix", "throttle_rate", "is_active")
    list_filter = ("channel", "reach", "is_active")
    search_fields = ("name", "token_prefix")
    readonly_fields = ("token_prefix", "created_at", "kind_display")
    actions = ("rotate_token", "deactivate")

    @admin.display(description=_("kind"))
    def kind_display(self, obj: ChannelClient) -> str:
        return str(obj.kind.label)

    def get_fields(self, request: HttpRequest, obj: ChannelClient | None = None) -> Any:
        if obj is None:
            return ["name", "channel", "throttle_rate"]
        return [
            "name",
            "channel",
            "kind_display",
            "token_prefix",
            "reach",
            "scopes",
            "throttle_rate",
            "is_active",
            "created_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: ChannelClient | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("channel", "kind_display", "token_prefix", "created_at")

    def save_model(self, request: HttpRequest, obj: ChannelClient, form: Any, change: bool) -> None:
        if change:
            # Scopes and reach through the service: it checks them against the channel.
            channel_client_update(
                client=obj,
                name=obj.name,
                throttle_rate=obj.throttle_rate,
                is_active=obj.is_active,
                scopes=form.cleaned_data["scopes"],
                reach=obj.reach,
            )
            return
        client, token = channel_client_create(name=obj.name, channel=obj.channel, throttle_rate=obj.throttle_rate)
        obj.pk = client.pk
        obj.token_prefix = client.token_prefix
        self.message_user(
            request,
            _("Token for %(client)s (shown only now, keep it safe): %(token)s") % {"client": client, "token": token},
            messages.WARNING,
        )

    @admin.action(description=_("Issue a new token (the old one stops working)"))
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[ChannelClient]) -> None:
        for client in queryset:
            token = channel_client_rotate_token(client=client)
            self.message_user(
                request,
                _("New token for %(client)s (shown only now): %(token)s") % {"client": client, "token": token},
                messages.WARNING,
            )

    @admin.action(description=_("Deactivate (tokens stop working)"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ChannelClient]) -> None:
        updated = channel_clients_deactivate(clients=queryset)
        self.message_user(request, _("%(count)d clients deactivated.") % {"count": updated})


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(UseCaseFormMixin, admin.ModelAdmin):
    list_display = ("client", "event", "url", "is_active", "created_at")
    list_filter = ("event", "is_active")
    search_fields = ("client__name", "url")
    list_select_related = ("client",)

    def get_fields(self, request: HttpRequest, obj: WebhookSubscription | None = None) -> Any:
        if obj is None:
            return ["client", "event", "url"]
        return ["client", "event", "url", "is_active", "secret", "cursor", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookSubscription | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        # client, event and url stay in the form, so their unique constraint is checked there.
        return ("secret", "created_at")

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: object, change: bool) -> None:
        if change:
            obj.save()
            return
        subscription = webhook_subscription_create(client=obj.client, event=obj.event, url=obj.url)
        obj.pk = subscription.pk
        obj.secret = subscription.secret
        obj.created_at = subscription.created_at


class OutboxTargetFilter(admin.SimpleListFilter):
    """The systems messages go to (webhook URLs, named targets); e-mail addresses are found by search."""

    title = _("target")
    parameter_name = "target"
    max_choices = 100
    # The kinds whose targets are systems (a handful of URLs and names), not people.
    system_kinds = (OutboxKind.WEBHOOK, OutboxKind.VERIFACTU_SUBMISSION)

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        targets = (
            OutboxMessage.objects.filter(kind__in=self.system_kinds)
            .order_by("target")
            .values_list("target", flat=True)
            .distinct()[: self.max_choices]
        )
        return [(target, target) for target in targets]

    def queryset(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> QuerySet[OutboxMessage]:
        value = self.value()
        return queryset.filter(target=value) if value else queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """Everything owed to another system or person: webhooks, e-mails, notifications, tax-agency submissions.

    Rows are written only by the machinery (config.outbox): staff read them and replay dead letters.
    Nobody deletes one, superusers included: a document whose e-mail message is gone would stay
    pending for ever, and a replay needs the row.
    """

    list_display = (
        "id",
        "kind",
        "event",
        "target",
        "client",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
        "sent_at",
    )
    list_filter = ("kind", "status", OutboxTargetFilter, "event")
    date_hierarchy = "created_at"
    search_fields = ("target", "event", "=dedupe_key", "=subject")
    search_help_text = _("A URL, an e-mail address, an event or a reference.")
    list_select_related = ("subscription__client",)
    fields = (
        "kind",
        "event",
        "subscription",
        "target",
        "dedupe_key",
        "language",
        "status",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "last_status_code",
        "last_error",
        "body",
        "created_at",
        "sent_at",
        "subject",
        "owed_after_erasure",
        "redacted_at",
    )
    readonly_fields = fields
    actions = ("replay",)

    @admin.display(description=_("channel client"), ordering="subscription__client__name")
    def client(self, obj: OutboxMessage) -> str:
        return obj.subscription.client.name if obj.subscription else "—"

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("config.change_outboxmessage"))

    @admin.action(description=_("Replay (send again now)"), permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        # Each is refused on its own (already sent, being sent right now), the rest replayed.
        self.run_for_each(
            request,
            queryset.order_by("pk"),
            lambda message: outbox_replay(message=message),
            label=str,
            done=ngettext_lazy(
                "%(count)d message will be sent again.", "%(count)d messages will be sent again.", "count"
            ),
            refused_level=messages.WARNING,
        )
