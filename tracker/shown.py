"""The base of the frozen records that the pages' templates read: charts, their tables, the
cycle cards and the Relief page's model. Pure."""


class Shown:
    """A record read by a template. Django's template engine looks each name up as
    `record[name]` before `record.name`, and on a plain object that first try raises an
    exception, caught, for each of the some 900 values the Relief page draws: answered here,
    an eighth of its drawing time (bench/README.md). Looked up by name only: not a sequence."""

    __iter__ = None  # `in` and iter() refuse it, rather than try record[0], record[1]...

    def __getitem__(self, name: str) -> object:
        try:
            return getattr(self, name)
        except (AttributeError, TypeError):  # not a field's name, or not a name
            raise KeyError(name) from None
