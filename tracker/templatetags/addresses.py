"""{{ address|breakable }}: an email address that may wrap after its @ and before each dot,
not inside a word: at 200 % text a clinic's address is wider than a phone's line."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def breakable(address: str) -> SafeString:
    # Escaping writes no @ and no dot, so the breaks go only where the address has them.
    return mark_safe(escape(address).replace("@", "@<wbr>").replace(".", "<wbr>."))
