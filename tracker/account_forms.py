"""The forms of a person's own account: signing up with the name clinicians see, asking for the
verification email again, and what identifies a patient to the clinics they share with."""

from django import forms

from tracker.models import Patient

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
