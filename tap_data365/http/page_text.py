"""The visible text of an HTML (or XML) error page, for a one-line error message.

Its own module so that ``html.parser`` is imported only when an error page comes.
"""

from __future__ import annotations

from html.parser import HTMLParser


def page_text(text: str) -> str:
    """The words of the page, else its title, else a note that it has none."""
    page = _PageText()
    page.feed(text)
    page.close()
    return " ".join(page.words).strip() or " ".join(page.title).strip() or "a page without text"


class _PageText(HTMLParser):
    """Collects a page's visible text; a title is kept apart, for a page with no other."""

    _UNSEEN = frozenset({"script", "style", "template", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.title: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._UNSEEN:
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data: str) -> None:
        if not self._open:
            self.words.append(data)
        elif self._open[-1] == "title":
            self.title.append(data)
