"""Where the server may send Web Push messages: only over https to the public push services
of the browsers, by exact host or host suffix. A subscription is the browser's word, so its
address is checked when it is saved and again before each send: the server must never be
made to send requests to its own network (cloud metadata, internal hosts)."""

from urllib.parse import urlsplit

# Chrome and Edge (Firebase Cloud Messaging), Firefox (Mozilla's autopush), Safari (Apple),
# and Windows' notification service.
PUSH_SERVICE_HOSTS = ("fcm.googleapis.com", "updates.push.services.mozilla.com")
PUSH_SERVICE_SUFFIXES = (".push.services.mozilla.com", ".push.apple.com", ".notify.windows.com")


def is_push_service(url: str) -> bool:
    try:
        parts = urlsplit(url)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:  # a malformed port or address
        return False
    if parts.scheme != "https" or port not in {None, 443} or parts.username or parts.password:
        return False
    return host in PUSH_SERVICE_HOSTS or host.endswith(PUSH_SERVICE_SUFFIXES)
