"""The forms of a person's own account: signing up with the name clinicians see, asking for the
verification email again, and what identifies a patient to the clinics they share with."""

from datetime import time

from django import forms

from tracker import emergency
from tracker.forms import ButtonRadioSelect
from tracker.models import Patient
from tracker.reminders import REMINDER_TIMES

NAME_HELP = "The name your clinic knows you by. Only the clinics you share with see it."


class SignupForm(forms.Form):
    """allauth's sign-up form is built on this one (ACCOUNT_SIGNUP_FORM_CLASS): a name, so
    that clinicians see a person, not a username. Kept whole in first_name: names do not
    split into first and last the same way everywhere."""

    name = forms.CharField(
        label="Your name",
        help_text=NAME_HELP,
        max_length=150,
        error_messages={"required": "Enter your name, as your clinic knows you."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )

    field_order = ["name"]

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Enter your name, as your clinic knows you.")
        return name

    def signup(self, request, user) -> None:
        user.first_name = self.cleaned_data["name"]
        user.last_name = ""
        user.save(update_fields=["first_name", "last_name"])


class VerifyAgainForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter the email address you signed up with."},
    )


class IdentityForm(forms.ModelForm):
    """The patient's name and, if they wish, what tells them apart at their clinic."""

    name = SignupForm.base_fields["name"]

    class Meta:
        model = Patient
        fields = ["date_of_birth", "clinic_number"]
        labels = {
            "date_of_birth": "Date of birth (optional)",
            "clinic_number": "Your patient number at the clinic (optional)",
        }
        help_texts = {
            "date_of_birth": "Shown only to the clinics you share with.",
            "clinic_number": (
                "The number on your clinic's letters, if it has one. Shown only to the clinics "
                "you share with."
            ),
        }
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "clinic_number": forms.TextInput(attrs={"autocomplete": "off"}),
        }

    field_order = ["name", "date_of_birth", "clinic_number"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("name", self.instance.user.get_full_name())

    clean_name = SignupForm.clean_name

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        if born is not None and not (born.year >= 1900 and born <= self.instance.today()):
            raise forms.ValidationError("Enter your date of birth, for example 1960-03-21.")
        return born

    def clean_clinic_number(self) -> str:
        return " ".join(self.cleaned_data["clinic_number"].split())

    def save(self, commit: bool = True) -> Patient:
        patient = super().save(commit=False)
        patient.save(update_fields=["date_of_birth", "clinic_number"])
        user = patient.user
        user.first_name, user.last_name = self.cleaned_data["name"], ""
        user.save(update_fields=["first_name", "last_name"])
        return patient


class ReminderForm(forms.ModelForm):
    reminder_time = forms.TypedChoiceField(
        label="Remind me every day at",
        help_text="Your own time. Only on days you have not checked in by then.",
        choices=[("", "No reminder"), *((f"{t:%H:%M}", f"{t:%H:%M}") for t in REMINDER_TIMES)],
        coerce=time.fromisoformat,
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose a time from the list."},
    )
    reminder_email = forms.TypedChoiceField(
        label="By email",
        choices=[("True", "On"), ("False", "Off")],
        coerce=lambda value: value == "True",
        widget=ButtonRadioSelect(columns=2),
        # Asked only with a time: while there is no reminder, its channels are off the form
        # (a disabled fieldset sends nothing) and stay as they were.
        required=False,
        empty_value=None,
        error_messages={"invalid_choice": "Choose On or Off."},
    )

    class Meta:
        model = Patient
        fields = ["reminder_time", "reminder_email"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("reminder_email") is None and "reminder_email" not in self.errors:
            if cleaned.get("reminder_time"):
                self.add_error("reminder_email", "Choose On or Off.")
            else:
                cleaned["reminder_email"] = self.instance.reminder_email
        return cleaned

    @property
    def has_time(self) -> bool:
        """Whether a reminder time is chosen (the one posted, else the one saved)."""
        return bool(self["reminder_time"].value())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = self.instance.reminder_time
        self.initial["reminder_time"] = f"{chosen:%H:%M}" if chosen else ""
        if not chosen:
            self.initial["reminder_email"] = None  # no "email: On" beside "No reminder"
        email = self.instance.user.email if self.instance.user_id else ""
        if email:
            self.fields["reminder_email"].help_text = f"To {email}."


class PhoneNumbersForm(forms.ModelForm):
    """The numbers on the urgent card (docs/clinical-rules.md, "Red flags")."""

    class Meta:
        model = Patient
        fields = ["emergency_number", "clinic_phone"]
        labels = {
            "emergency_number": "Emergency number",
            "clinic_phone": "Your clinic's phone number",
        }
        widgets = {
            "emergency_number": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "clinic_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        usual = emergency.numbers_for(self.instance.time_zone)
        where = f" in {usual.country}" if usual.country else ""
        self.fields["emergency_number"].help_text = (
            f"Leave empty to use {usual.emergency}, the number we know{where} from your time "
            "zone. Change it if you live elsewhere or your country uses another number."
        )
        self.fields["clinic_phone"].help_text = "On the warning card: call your clinic in one tap."

    def clean_emergency_number(self) -> str:
        return self._phone_number("emergency_number")

    def clean_clinic_phone(self) -> str:
        return self._phone_number("clinic_phone")

    def _phone_number(self, field: str) -> str:
        return clean_phone_number(self.cleaned_data[field])


def clean_phone_number(text: str) -> str:
    """A typed phone number with its spaces tidied, or a ValidationError saying what is wrong:
    the patient's numbers and a clinic's phone alike."""
    number = " ".join(text.split())
    if number and (error := emergency.phone_number_error(number)):
        raise forms.ValidationError(error)
    return number


class DeleteAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand: my diary and my account will be deleted for good.",
        error_messages={"required": "Tick the box to confirm, or go back to keep your account."},
    )
