import uuid
import zoneinfo
from decimal import Decimal

from django import forms
from django.conf import settings
from django.db import IntegrityError, transaction

from tracker import catalog
from tracker.catalog import site_total_errors, unit_errors
from tracker.models import (
    DailyLog,
    GlobalImpression,
    Injection,
    InjectionSite,
    Patient,
    Reaction,
    User,
    normalise_share_code,
)
from tracker.revisions import diary_changed

ZERO_TO_TEN = [(n, str(n)) for n in range(11)]


class ButtonsMixin:
    """Choices drawn as large tap targets over plain inputs, so no JS is needed."""

    template_name = "tracker/widgets/buttons.html"

    def __init__(self, *args, columns: int = 0, group_help: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        # A line under a group's label; a group whose label is a red-flag tier is drawn urgent.
        self.group_help = group_help or {}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        optgroups = context["widget"]["optgroups"]
        context["widget"].update(
            columns=self.columns,
            grouped=any(group for group, _, _ in optgroups),
            groups=[
                {
                    "label": group,
                    "options": options,
                    "index": index,
                    "help": self.group_help.get(group, ""),
                    "urgent": group in URGENT_GROUP_HELP,
                }
                for group, options, index in optgroups
            ],
        )
        return context


class ButtonRadioSelect(ButtonsMixin, forms.RadioSelect):
    pass


class ButtonCheckboxSelect(ButtonsMixin, forms.CheckboxSelectMultiple):
    pass


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def optional_scale(label: str, choices, help_text: str = "", columns: int = 6):
    return forms.TypedChoiceField(
        label=label,
        help_text=help_text,
        choices=choices,
        coerce=int,
        required=False,
        empty_value=None,
        widget=ButtonRadioSelect(columns=columns),
    )


class DailyLogForm(forms.ModelForm):
    severity = forms.TypedChoiceField(
        label="How bad were your spasms today?",
        help_text="0 means none, 10 the worst you can imagine.",
        choices=ZERO_TO_TEN,
        coerce=int,
        widget=ButtonRadioSelect(columns=6),
        error_messages={"required": "Choose a number from 0 to 10."},
    )
    spasm_frequency = optional_scale(
        "How often did spasms come?", catalog.PENN_SPASM_FREQUENCY_CHOICES, columns=1
    )
    pain = optional_scale("How much pain?", ZERO_TO_TEN, "0 means no pain, 10 the worst.")
    note = forms.CharField(
        label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = DailyLog
        fields = ["severity", "spasm_frequency", "pain", "note"]


class GlobalImpressionForm(forms.Form):
    """One tap and Save: the answer for this cycle's time point replaces an earlier one."""

    injection = forms.UUIDField(widget=forms.HiddenInput)
    timepoint = forms.ChoiceField(choices=catalog.PGIC_TIMEPOINT_CHOICES, widget=forms.HiddenInput)
    score = forms.TypedChoiceField(
        label="Since your last injection, how is your condition overall?",
        choices=catalog.PGIC_CHOICES,
        coerce=int,
        widget=ButtonRadioSelect(columns=1),
    )

    def __init__(self, *args, patient: Patient | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.patient = patient

    def clean_injection(self):
        injection = self.patient.injections.filter(pk=self.cleaned_data["injection"]).first()
        if injection is None:
            raise forms.ValidationError("Choose one of your own injections.")
        return injection

    def save(self) -> GlobalImpression:
        data = self.cleaned_data
        impression, _ = GlobalImpression.objects.update_or_create(
            injection=data["injection"],
            timepoint=data["timepoint"],
            defaults={
                "patient": self.patient,
                "score": data["score"],
                "date": self.patient.today(),
            },
        )
        return impression


class ConditionsForm(forms.ModelForm):
    conditions = forms.MultipleChoiceField(
        label="What are you treated for?",
        help_text="Choose all that apply.",
        choices=catalog.CONDITION_CHOICES,
        widget=ButtonCheckboxSelect(columns=1),
        error_messages={"required": "Choose at least one."},
    )
    time_zone = forms.ChoiceField(
        label="Your time zone",
        help_text="Your day starts and ends at midnight here.",
        choices=sorted((zone, zone.replace("_", " ")) for zone in zoneinfo.available_timezones()),
    )
    # Clinicians compare like with like: spasticity after a stroke is not spasticity with MS.
    spasticity_cause = forms.ChoiceField(
        label="What caused the limb spasticity?",
        help_text="Only if you are treated for limb spasticity.",
        choices=[*catalog.SPASTICITY_CAUSE_CHOICES, ("", "Not sure")],
        required=False,
        widget=ButtonRadioSelect(columns=1),
    )

    class Meta:
        model = Patient
        fields = ["time_zone", "spasticity_cause"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("conditions", self.instance.condition_codes)
        else:
            self.fields["time_zone"].widget.attrs["data-guess"] = ""
        self.initial.setdefault("time_zone", self.instance.time_zone or settings.TIME_ZONE)

    def clean(self) -> dict:
        cleaned = super().clean()
        if "limb_spasticity" not in cleaned.get("conditions", []):
            cleaned["spasticity_cause"] = ""  # a cause only for the condition it belongs to
        return cleaned

    @transaction.atomic
    def save(self, commit: bool = True) -> Patient:
        patient = super().save()
        chosen = self.cleaned_data["conditions"]
        patient.conditions.exclude(condition__in=chosen).delete()
        existing = set(patient.conditions.values_list("condition", flat=True))
        patient.conditions.bulk_create(
            [
                patient.conditions.model(patient=patient, condition=c)
                for c in chosen
                if c not in existing
            ]
        )
        diary_changed(patient.pk)  # bulk_create saves no model: tracker/revisions.py
        return patient


class InjectionForm(forms.ModelForm):
    date = forms.DateField(label="Date of the injection", widget=DateInput())
    product = forms.ChoiceField(
        label="Product", choices=catalog.PRODUCT_CHOICES, widget=ButtonRadioSelect(columns=2)
    )
    total_units = forms.DecimalField(
        label="Total units",
        help_text="Leave empty to add up the units per muscle.",
        required=False,
        min_value=Decimal("0.1"),
        max_digits=7,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    guidance = forms.ChoiceField(
        label="Guidance (optional)",
        choices=catalog.GUIDANCE_CHOICES,
        required=False,
        widget=ButtonRadioSelect(columns=2),
    )

    dose_confirmed = forms.BooleanField(
        label="I checked this dose on the treatment record: it is right.",
        required=False,
    )

    class Meta:
        model = Injection
        fields = [
            "date",
            "product",
            "total_units",
            "dose_confirmed",
            "guidance",
            "injector",
            "notes",
        ]
        labels = {"injector": "Who injected (optional)", "notes": "Notes (optional)"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def check_units(self, sites: "BaseSiteFormSet") -> bool:
        """Whether the units are right: the total and each site within the product's limits
        (above the label's maximum only when confirmed), and the total the sum of the sites
        (with no total given, it is their sum). Each error goes on its own field."""
        site_units = sites.site_units()
        total = self.cleaned_data.get("total_units")
        if total is None:
            if not site_units:
                self.add_error("total_units", "Enter the total units, or the units per muscle.")
                return False
            total = sum(site_units, Decimal(0))
            self.instance.total_units = total
        product = self.cleaned_data.get("product", "")
        confirmed = self.cleaned_data.get("dose_confirmed", False)
        for error in unit_errors(product, total, confirmed) + site_total_errors(total, site_units):
            self.add_error("total_units", error)
        self.check_site_units(sites)
        return not self.errors and not any(site.errors for site in sites.forms)

    def check_site_units(self, sites: "BaseSiteFormSet") -> None:
        """Each muscle's units within the product's limits, the error on that muscle's units:
        also when the total was refused already (the model's own check), so that the number
        to correct is marked where it was typed."""
        product = self.cleaned_data.get("product", "")
        confirmed = self.cleaned_data.get("dose_confirmed", False)
        for site in sites.kept_forms():
            for error in unit_errors(product, site.cleaned_data["units"], confirmed):
                if error not in site.errors.get("units", []):
                    site.add_error("units", error)

    @property
    def asks_dose_confirmation(self) -> bool:
        """Shows the "I checked the dose" box: once a dose was found above the label's maximum,
        or when it was ticked."""
        return bool(self["dose_confirmed"].value()) or bool(self.errors.get("total_units"))


class InjectionSiteForm(forms.ModelForm):
    side = forms.ChoiceField(
        label="Side", choices=catalog.SIDE_CHOICES, widget=ButtonRadioSelect(columns=4)
    )
    units = forms.DecimalField(
        label="Units",
        min_value=Decimal("0.1"),
        max_digits=7,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )

    class Meta:
        model = InjectionSite
        fields = ["muscle", "side", "units"]

    def __init__(self, *args, suggested_muscles=(), **kwargs):
        super().__init__(*args, **kwargs)
        others = [m for m in catalog.MUSCLE_CHOICES if m not in suggested_muscles]
        groups = [("Usual for your condition", list(suggested_muscles)), ("Other muscles", others)]
        self.fields["muscle"].choices = [("", "Choose a muscle")] + [g for g in groups if g[1]]


class BaseSiteFormSet(forms.BaseInlineFormSet):
    default_error_messages = {"too_many_forms": catalog.TOO_MANY_SITES}

    def kept_forms(self) -> list[forms.Form]:
        """The filled-in sites, less those to remove."""
        return [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def site_units(self) -> list[Decimal]:
        return [form.cleaned_data["units"] for form in self.kept_forms()]


SiteFormSet = forms.inlineformset_factory(
    Injection,
    InjectionSite,
    form=InjectionSiteForm,
    formset=BaseSiteFormSet,
    extra=4,
    max_num=catalog.MAX_SITES,
    # Without it Django builds up to 1,050 forms for any count a request claims, and renders
    # them all again with the error: ten seconds of work for one small request.
    absolute_max=catalog.MAX_SITES,
    validate_max=True,
    can_delete=True,
)


@transaction.atomic
def save_injection(
    form: InjectionForm, sites: BaseSiteFormSet, patient: Patient, user
) -> Injection:
    injection = form.save(commit=False)
    injection.patient = patient
    if injection._state.adding:
        injection.entered_by = user
    injection.save()
    sites.instance = injection
    sites.save()
    return injection


class ReactionForm(forms.ModelForm):
    severity = forms.ChoiceField(
        label="How bad is it?",
        choices=catalog.SEVERITY_CHOICES,
        widget=ButtonRadioSelect(columns=3),
    )
    onset_date = forms.DateField(label="When did it start?", widget=DateInput())
    resolved_date = forms.DateField(
        label="When did it stop? (leave empty if it hasn't)", required=False, widget=DateInput()
    )

    class Meta:
        model = Reaction
        fields = [
            "kind",
            "severity",
            "onset_date",
            "resolved_date",
            "injection",
            "pain_reliever",
            "pain_reliever_dose",
            "note",
        ]
        labels = {
            "kind": "What happened?",
            "injection": "After which injection?",
            "pain_reliever": "Pain reliever taken (optional)",
            "pain_reliever_dose": "Dose (optional)",
            "note": "Note (optional)",
        }
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.patient = patient
        groups = reaction_groups(patient.condition_codes)
        if "kind" in self.fields:
            self.fields["kind"].choices = groups
            self.fields["kind"].widget = ButtonRadioSelect(
                choices=groups, group_help=reaction_group_help(groups)
            )
        injections = patient.injections.order_by("-date")
        self.fields["injection"].queryset = injections
        self.fields["injection"].empty_label = "Not after an injection"
        if self.instance._state.adding and not self.is_bound:
            today = patient.today()
            latest = next((i for i in injections if i.date <= today), None)
            self.initial |= {"onset_date": today, "injection": latest.pk if latest else None}


class ReactionChecklistForm(ReactionForm):
    """A new report: tick every reaction that applies; one record is saved per tick."""

    kinds = forms.MultipleChoiceField(
        label="What happened? Tick all that apply.",
        error_messages={"required": "Tick at least one."},
    )

    class Meta(ReactionForm.Meta):
        fields = [f for f in ReactionForm.Meta.fields if f != "kind"]

    field_order = ["kinds"]

    def __init__(self, *args, patient: Patient, **kwargs):
        super().__init__(*args, patient=patient, **kwargs)
        groups = reaction_groups(patient.condition_codes)
        self.fields["kinds"].choices = groups
        self.fields["kinds"].widget = ButtonCheckboxSelect(
            choices=groups, group_help=reaction_group_help(groups)
        )

    @transaction.atomic
    def save_all(self, client_id: uuid.UUID | None = None) -> list[Reaction]:
        """One reaction per tick. With the form's client id, each gets the id the offline
        outbox would give it, and a tick already saved (the form sent twice, one after the
        other or both at once, or by the outbox and the form) is kept as is."""
        template = self.save(commit=False)
        reactions = []
        for index, kind in enumerate(self.cleaned_data["kinds"]):
            pk = reaction_id(client_id, index) if client_id else uuid.uuid4()
            reaction = Reaction.objects.filter(pk=pk).first()
            if reaction is not None and (
                reaction.patient_id != template.patient.pk or reaction.kind != kind
            ):
                # Someone else's id, or this form's sent again with other ticks: saved anew,
                # so that neither record is lost.
                reaction, pk = None, uuid.uuid4()
            if reaction is None and template.patient.tombstones.filter(key=str(pk)).exists():
                continue  # sent again after this tick's reaction was deleted: it stays deleted
            if reaction is None:
                reaction = Reaction(
                    **{f: getattr(template, f) for f in ReactionForm.Meta.fields if f != "kind"},
                    id=pk,
                    patient=template.patient,
                    kind=kind,
                )
                try:
                    with transaction.atomic():
                        reaction.save(force_insert=True)
                except IntegrityError:
                    # The same form, sent twice at once: the other request saved this tick
                    # first (on PostgreSQL the insert waited for it to commit). Keep that one.
                    reaction = Reaction.objects.get(pk=pk, patient=template.patient)
            reactions.append(reaction)
        return reactions


def reaction_id(client_id: uuid.UUID, index: int) -> uuid.UUID:
    """The id of the index-th ticked reaction; static/js/outbox.js derives the same."""
    return uuid.UUID(str(client_id)[:-2] + f"{index:02x}")


def reaction_groups(conditions: list[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The checklist: the two tiers of red flags first, then the patient's condition, then the
    common ones (docs/clinical-rules.md, "Red flags")."""
    condition_label = (
        " and ".join(catalog.CONDITION_LABELS[c] for c in conditions) or "your condition"
    )
    groups = [
        (catalog.RED_FLAG_TIER_LABELS[catalog.GET_HELP_NOW], catalog.GET_HELP_NOW_REACTIONS),
        (
            catalog.RED_FLAG_TIER_LABELS[catalog.CONTACT_CLINIC_TODAY],
            catalog.CONTACT_CLINIC_REACTIONS,
        ),
        (f"Common with {condition_label}", catalog.reactions_for(conditions)),
        ("Common after any injection", catalog.COMMON_REACTIONS),
    ]
    return [(label, choices) for label, choices in groups if choices]


URGENT_GROUP_HELP = {
    catalog.RED_FLAG_TIER_LABELS[catalog.GET_HELP_NOW]: (
        "If you have any of these, call the emergency number or go to the nearest emergency "
        "department now. Then tell your clinic, and log it here."
    ),
    catalog.RED_FLAG_TIER_LABELS[catalog.CONTACT_CLINIC_TODAY]: (
        "If you have any of these, call your clinic today. Then log it here."
    ),
}
WHEN_SEVERE_HELP = "If one of these is severe, call your clinic today."


def reaction_group_help(groups: list[tuple[str, list[tuple[str, str]]]]) -> dict[str, str]:
    """The line under each group: what to do now for the red flags, and for a group holding
    reactions that are red flags when severe (a condition's swallowing, voice or eye ones)."""
    help_texts = {}
    for label, choices in groups:
        if label in URGENT_GROUP_HELP:
            help_texts[label] = URGENT_GROUP_HELP[label]
        elif any(code in catalog.RED_FLAG_WHEN_SEVERE_CODES for code, _ in choices):
            help_texts[label] = WHEN_SEVERE_HELP
    return help_texts


class ShareCodeForm(forms.Form):
    """A clinician's share code, typed by a patient: cleaned to the clinician it belongs to."""

    code = forms.CharField(
        label="Your clinician's share code",
        help_text="8 letters and numbers, like ABCD-EFGH. Your clinic can tell you theirs.",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, minutes_to_wait: int = 0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # After too many wrong codes (tracker.throttles.Guesses), no code is looked up.
        self.minutes_to_wait = minutes_to_wait

    def clean_code(self) -> User:
        if self.minutes_to_wait:
            raise forms.ValidationError(
                f"Too many wrong codes. Try again in {self.minutes_to_wait} minute"
                f"{'s' if self.minutes_to_wait != 1 else ''}.",
                code="too_many",
            )
        code = normalise_share_code(self.cleaned_data["code"])
        clinician = User.objects.filter(role=User.Role.CLINICIAN, share_code=code).first()
        if clinician is None:
            raise forms.ValidationError(
                "No clinician has this code. Check it with your clinic.", code="unknown"
            )
        return clinician


class HandledForm(forms.Form):
    """A clinician's optional note on a red flag they mark as handled."""

    note = forms.CharField(
        label="Note (optional)",
        help_text="For example: called the patient, seen in clinic. It is kept in their record.",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
