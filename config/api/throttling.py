from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from config.api.authentication import request_channel_client


class ChannelClientRateThrottle(SimpleRateThrottle):
    """Per-client rate: the client's own throttle_rate, else the default for the scope.

    Staff are throttled per user, anonymous callers per address.
    """

    scope = "channel_client"

    def allow_request(self, request: Request, view: Any) -> bool:
        client = request_channel_client(request)
        if client is not None and client.throttle_rate:
            self.rate = client.throttle_rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        client = request_channel_client(request)
        if client is not None:
            ident = f"client-{client.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
