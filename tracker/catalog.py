"""The clinical vocabulary: conditions, products, muscles and reactions (docs/clinical-rules.md).

Codes are stored in the database and sent over the API, so they never change once released;
labels may.
"""

from dataclasses import dataclass
from decimal import Decimal

HARD_STOP_FACTOR = 3


@dataclass(frozen=True)
class Product:
    code: str
    label: str
    generic: str
    # The label's maximum for one adult session: above it (the soft stop) the dose is saved only
    # once confirmed; at three times it (the hard stop) it is refused as a likely typo
    # (docs/clinical-rules.md, "Dose limits"). The same limits hold for a single site.
    label_max_units: Decimal

    @property
    def hard_stop_units(self) -> Decimal:
        return self.label_max_units * HARD_STOP_FACTOR


# Units are product-specific and never interchangeable; type B doses run ~20x higher.
PRODUCTS = [
    Product("botox", "Botox", "onabotulinumtoxinA", Decimal(400)),
    Product("dysport", "Dysport", "abobotulinumtoxinA", Decimal(1500)),
    Product("xeomin", "Xeomin", "incobotulinumtoxinA", Decimal(400)),
    Product("daxxify", "Daxxify", "daxibotulinumtoxinA", Decimal(250)),
    Product("myobloc", "Myobloc / NeuroBloc", "rimabotulinumtoxinB", Decimal(5000)),
]
PRODUCT_BY_CODE = {product.code: product for product in PRODUCTS}
PRODUCT_CHOICES = [(p.code, p.label) for p in PRODUCTS]

CONDITION_CHOICES = [
    ("cervical_dystonia", "Cervical dystonia"),
    ("blepharospasm", "Blepharospasm"),
    ("hemifacial_spasm", "Hemifacial spasm"),
    ("spasmodic_dysphonia", "Spasmodic dysphonia"),
    ("limb_spasticity", "Limb spasticity"),
    ("hyperhidrosis", "Excessive sweating (hyperhidrosis)"),
    ("tics", "Tics"),
    ("neck_back_spasm", "Neck or back spasm"),
    ("other", "Other"),
]
CONDITION_LABELS = dict(CONDITION_CHOICES)

# Limb spasticity has many causes, and clinicians compare like with like.
SPASTICITY_CAUSE_CHOICES = [
    ("stroke", "Stroke"),
    ("multiple_sclerosis", "Multiple sclerosis"),
    ("cerebral_palsy", "Cerebral palsy"),
    ("brain_injury", "Brain injury"),
    ("spinal_cord_injury", "Spinal cord injury"),
    ("other", "Another cause"),
]
SPASTICITY_CAUSE_LABELS = dict(SPASTICITY_CAUSE_CHOICES)

MUSCLES_BY_CONDITION = {
    "cervical_dystonia": [
        ("sternocleidomastoid", "Sternocleidomastoid"),
        ("splenius_capitis", "Splenius capitis"),
        ("trapezius", "Trapezius"),
        ("levator_scapulae", "Levator scapulae"),
        ("scalenes", "Scalenes"),
        ("semispinalis_capitis", "Semispinalis capitis"),
    ],
    "blepharospasm": [
        ("orbicularis_oculi_pretarsal", "Orbicularis oculi (pretarsal)"),
        ("orbicularis_oculi_preseptal", "Orbicularis oculi (preseptal)"),
        ("orbicularis_oculi_orbital", "Orbicularis oculi (orbital)"),
        ("procerus", "Procerus"),
        ("corrugator", "Corrugator"),
    ],
    "hemifacial_spasm": [
        ("orbicularis_oculi", "Orbicularis oculi"),
        ("zygomaticus", "Zygomaticus"),
        ("orbicularis_oris", "Orbicularis oris"),
        ("platysma", "Platysma"),
    ],
    "spasmodic_dysphonia": [
        ("thyroarytenoid", "Thyroarytenoid"),
        ("lateral_cricoarytenoid", "Lateral cricoarytenoid"),
        ("posterior_cricoarytenoid", "Posterior cricoarytenoid"),
    ],
    "limb_spasticity": [
        ("biceps", "Biceps brachii"),
        ("brachialis", "Brachialis"),
        ("brachioradialis", "Brachioradialis"),
        ("flexor_carpi", "Wrist flexors"),
        ("flexor_digitorum", "Flexor digitorum"),
        ("gastrocnemius", "Gastrocnemius"),
        ("soleus", "Soleus"),
        ("tibialis_posterior", "Tibialis posterior"),
    ],
    # Injected into the skin of these areas, not a muscle.
    "hyperhidrosis": [
        ("axillae", "Underarms (axillae)"),
        ("palms", "Palms"),
        ("soles", "Soles"),
    ],
    "tics": [
        ("orbicularis_oculi", "Orbicularis oculi"),
        ("frontalis", "Frontalis"),
        ("sternocleidomastoid", "Sternocleidomastoid"),
        ("trapezius", "Trapezius"),
    ],
    "neck_back_spasm": [
        ("trapezius", "Trapezius"),
        ("levator_scapulae", "Levator scapulae"),
        ("splenius_capitis", "Splenius capitis"),
        ("paraspinals", "Paraspinal muscles"),
        ("quadratus_lumborum", "Quadratus lumborum"),
    ],
    "other": [("other", "Other muscle")],
}
MUSCLE_CHOICES = list(
    {code: label for muscles in MUSCLES_BY_CONDITION.values() for code, label in muscles}.items()
)
MUSCLE_LABELS = dict(MUSCLE_CHOICES)

SIDE_CHOICES = [("left", "Left"), ("right", "Right"), ("both", "Both"), ("midline", "Midline")]
# Sites (a muscle on a side) in one injection session, on the page and through the API alike.
MAX_SITES = 50
TOO_MANY_SITES = (
    f"An injection has at most {MAX_SITES} sites (a muscle and a side each): remove the extra ones."
)
GUIDANCE_CHOICES = [
    ("emg", "EMG"),
    ("ultrasound", "Ultrasound"),
    ("anatomical", "Anatomical landmarks"),
    ("estim", "Electrical stimulation"),
]
SEVERITY_CHOICES = [("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")]

# Red flags, in two tiers (docs/clinical-rules.md, "Red flags"): signs of distant spread of toxin,
# of a severe allergic reaction or of infection. The patient's card names the tier first.
GET_HELP_NOW = "now"
CONTACT_CLINIC_TODAY = "today"
RED_FLAG_TIER_LABELS = {
    GET_HELP_NOW: "Get help now",
    CONTACT_CLINIC_TODAY: "Contact your clinic today",
}

GET_HELP_NOW_REACTIONS = [
    ("breathing", "Difficulty breathing"),
    ("cannot_swallow", "Cannot swallow food, drink or saliva, or choking"),
    (
        "allergic",
        "Signs of a severe allergic reaction: swelling of the face, lips, tongue or throat, "
        "hives spreading over the body, wheezing, feeling faint",
    ),
]
CONTACT_CLINIC_REACTIONS = [
    ("swallowing_speaking_worse", "Swallowing or speaking is newly hard or getting worse"),
    ("generalised_weakness", "Weakness all over the body"),
    ("vision", "Double or blurred vision"),
    ("eyelid_droop_distant", "Drooping eyelids (away from where you were injected)"),
    ("bladder", "Loss of bladder control"),
    ("infection", "Fever of 38 °C or more, spreading redness, warmth or discharge at a site"),
]
RED_FLAG_REACTIONS = GET_HELP_NOW_REACTIONS + CONTACT_CLINIC_REACTIONS
COMMON_REACTIONS = [
    ("site_pain", "Pain where injected"),
    ("site_redness", "Redness where injected"),
    ("site_swelling", "Swelling where injected"),
    ("site_bruising", "Bruising or bleeding where injected"),
    ("headache", "Headache"),
    ("flu_like", "Flu-like symptoms"),
    ("tiredness", "Tiredness"),
    ("other", "Something else"),
]
_EYE_REACTIONS = [
    ("ptosis", "Drooping eyelid (treated eye)"),
    ("double_vision_local", "Double vision (after injections around the eye)"),
    ("dry_eye", "Dry eye"),
    ("watery_eye", "Watery eye"),
    ("light_sensitivity", "Sensitivity to light"),
    ("eye_not_closing", "Eye not closing fully"),
]
CONDITION_REACTIONS = {
    "cervical_dystonia": [
        ("swallowing_mild", "Difficulty swallowing"),
        ("neck_weakness", "Neck weakness or head drop"),
        ("neck_pain", "Neck pain"),
        ("dry_mouth", "Dry mouth"),
        ("voice_change", "Voice change"),
    ],
    "blepharospasm": _EYE_REACTIONS,
    "hemifacial_spasm": [*_EYE_REACTIONS, ("facial_weakness", "Facial weakness or drooping mouth")],
    "spasmodic_dysphonia": [
        ("breathy_voice", "Breathy or weak voice"),
        ("choking_liquids", "Coughing or choking on liquids"),
    ],
    "limb_spasticity": [
        ("limb_weakness", "Weakness of the injected limb"),
        ("falls", "Falls"),
    ],
    "hyperhidrosis": [
        ("compensatory_sweating", "More sweating elsewhere on the body"),
        ("hand_weakness", "Hand weakness (after palm injections)"),
    ],
    "tics": [("local_weakness", "Weakness near where injected")],
    "neck_back_spasm": [("local_weakness", "Weakness near where injected")],
    "other": [],
}
REACTION_CHOICES = list(
    {
        code: label
        for group in [RED_FLAG_REACTIONS, *CONDITION_REACTIONS.values(), COMMON_REACTIONS]
        for code, label in group
    }.items()
)
REACTION_LABELS = dict(REACTION_CHOICES)
GET_HELP_NOW_CODES = frozenset(code for code, _ in GET_HELP_NOW_REACTIONS)
CONTACT_CLINIC_CODES = frozenset(code for code, _ in CONTACT_CLINIC_REACTIONS)
RED_FLAG_CODES = GET_HELP_NOW_CODES | CONTACT_CLINIC_CODES
# Expected, and mild in most patients, after these injections; a red flag when rated severe:
# swallowing, choking, breathing or voice reactions, and the eye-area's local effects.
RED_FLAG_WHEN_SEVERE_CODES = frozenset(
    {"swallowing_mild", "voice_change", "breathy_voice", "choking_liquids"}
    | {"ptosis", "double_vision_local"}
)


def condition_labels(codes: list[str], spasticity_cause: str = "") -> list[str]:
    """Each condition's label, limb spasticity's with its cause when recorded:
    ["Cervical dystonia", "Limb spasticity (stroke)"]."""
    cause = SPASTICITY_CAUSE_LABELS.get(spasticity_cause, spasticity_cause).lower()
    return [
        f"{CONDITION_LABELS.get(code, code)} ({cause})"
        if code == "limb_spasticity" and cause
        else CONDITION_LABELS.get(code, code)
        for code in codes
    ]


def red_flag_tier(kind: str, severity: str) -> str | None:
    """GET_HELP_NOW, CONTACT_CLINIC_TODAY, or None when the reaction is not a red flag."""
    if kind in GET_HELP_NOW_CODES:
        return GET_HELP_NOW
    if kind in CONTACT_CLINIC_CODES:
        return CONTACT_CLINIC_TODAY
    if kind in RED_FLAG_WHEN_SEVERE_CODES and severity == "severe":
        return CONTACT_CLINIC_TODAY
    return None


PENN_SPASM_FREQUENCY_CHOICES = [
    (0, "No spasms"),
    (1, "Spasms only when moved or touched"),
    (2, "Fewer than 1 spasm an hour"),
    (3, "1 to 10 spasms an hour"),
    (4, "More than 10 spasms an hour"),
]


def muscles_for(conditions: list[str]) -> list[tuple[str, str]]:
    """The muscles to suggest first for these conditions, without repeats."""
    suggested = {}
    for condition in conditions:
        suggested.update(MUSCLES_BY_CONDITION.get(condition, []))
    return list(suggested.items())


def reactions_for(conditions: list[str]) -> list[tuple[str, str]]:
    """Condition-specific reactions for these conditions, without repeats."""
    offered = {}
    for condition in conditions:
        offered.update(CONDITION_REACTIONS.get(condition, []))
    return list(offered.items())


# Patient Global Impression of Change: asked twice per cycle (docs/clinical-rules.md, "PGIC").
PGIC_CHOICES = [
    (1, "Very much improved"),
    (2, "Much improved"),
    (3, "Minimally improved"),
    (4, "No change"),
    (5, "Minimally worse"),
    (6, "Much worse"),
    (7, "Very much worse"),
]
PGIC_TIMEPOINT_CHOICES = [
    ("peak", "Weeks 4 to 6"),
    ("before_next", "Before the next injection"),
]


def format_units(units: Decimal) -> str:
    """120.0 -> "120", 12.5 -> "12.5", 25000 -> "25,000"."""
    # Decimal(): a record made in code may hold an int until it is read back (the change
    # history names records as they are saved).
    return f"{Decimal(units).normalize():,f}"


# Dose limits (docs/clinical-rules.md, "Dose limits"): a typo guard, not dosing advice.


DOSE_NOT_CONFIRMED = "dose_not_confirmed"


def unit_errors(product: str, units: Decimal | None, confirmed: bool = False) -> list[str]:
    """What is wrong with a number of units of this product (a session's total or one site's),
    if anything: above the label's maximum it must be confirmed, above three times that it is
    refused as a likely typo (docs/clinical-rules.md, "Dose limits")."""
    if units is None:
        return []
    if units <= 0:
        return ["Units must be more than 0."]
    known = PRODUCT_BY_CODE.get(product)
    if known is None:
        return []
    said = f"{format_units(units)} units of {known.label}"
    if units > known.hard_stop_units:
        return [
            f"{said} is more than three times its label's maximum for one session "
            f"({format_units(known.label_max_units)} units): this looks like a typo. "
            "Check the number on the treatment record."
        ]
    if units > known.label_max_units and not confirmed:
        return [
            f"{said} is more than its label's maximum for one session "
            f"({format_units(known.label_max_units)} units). Check the number on the treatment "
            "record; if it is right, confirm the dose and save again."
        ]
    return []


def site_total_errors(total_units: Decimal | None, site_units: list[Decimal]) -> list[str]:
    if total_units is None or not site_units:
        return []
    site_sum = sum(site_units, Decimal(0))
    if site_sum != total_units:
        return [
            f"The sites add up to {format_units(site_sum)} units "
            f"but the total says {format_units(total_units)}."
        ]
    return []
