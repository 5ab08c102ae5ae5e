"""tracker.shown.Shown: the records the templates read answer `record[name]` with the field,
as Django's template engine asks first, and are no sequence."""

from dataclasses import dataclass

import pytest
from django.template import Context, Template

from tracker.charts import Tick
from tracker.shown import Shown


@dataclass(frozen=True)
class Card(Shown):
    title: str
    ticks: tuple[Tick, ...]

    @property
    def loud(self) -> str:
        return self.title.upper()


def test_a_template_reads_fields_properties_and_nested_records():
    card = Card("<b>Peak</b>", (Tick(1.5, "day 7"),))
    html = Template("{{ card.title }} {{ card.loud }} {{ card.ticks.0.label }} [{{ card.nope }}]")

    assert html.render(Context({"card": card})) == (
        "&lt;b&gt;Peak&lt;/b&gt; &lt;B&gt;PEAK&lt;/B&gt; day 7 []"
    )


def test_a_record_is_looked_up_by_name_only():
    card = Card("Peak", ())

    assert card["title"] == "Peak"
    with pytest.raises(KeyError):
        card["nope"]
    with pytest.raises(KeyError):
        card[0]
    with pytest.raises(TypeError):
        list(card)
    with pytest.raises(TypeError):
        "title" in card  # noqa: B015
