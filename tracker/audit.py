"""The change history (django-auditlog) of what a diary holds: who changed which record, when,
and from what to what. It sits beside the access history (AccessEvent), which records reads."""

from auditlog.registry import auditlog

from tracker.models import DailyLog, GlobalImpression, Injection, InjectionSite, Reaction, Share

for model in [DailyLog, Injection, InjectionSite, Reaction, GlobalImpression, Share]:
    # `version` and `updated_at` change with every save: the fields that changed say enough.
    auditlog.register(model, exclude_fields=["version", "updated_at"])
