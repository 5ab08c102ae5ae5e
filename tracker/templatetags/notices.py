"""{% if messages|tagged:"mail-not-sent" %}: whether one of the request's one-off messages
carries a tag, so that a page can leave out what that message contradicts ("We have sent you
an email" beside "We could not send the email"). Looking at the messages keeps them for the
frame (base.html), which shows them in the same request."""

from collections.abc import Iterable

from django import template
from django.contrib.messages.storage.base import Message

register = template.Library()


@register.filter
def tagged(messages: Iterable[Message], tag: str) -> bool:
    return any(tag in message.tags.split() for message in messages)
