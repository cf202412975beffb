"""The emulator's search over real HTTP: limits, seeded data, Lucene, order.

Faults, latency and the in-flight limit: test_emulator_faults.py.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from helpers import DOCUMENTED_SOURCES, TWITTER, Client, when

from data365_emulator import Emulator, EmulatorConfig, lucene
from data365_emulator.posts import words

# ---------------------------------------------------------------------------- search limits


@pytest.mark.parametrize(
    ("size", "start"), [(101, 0), (0, 0), (-1, 0), (10, 9901), (10, -1), ("10", 0), (True, 0)]
)
def test_search_limits_are_400(api: Client, size: object, start: object) -> None:
    response = api.search("*", size=size, start=start)
    assert response.status_code == 400
    assert response.json()["message"]


def test_search_accepts_the_edges_and_defaults(api: Client) -> None:
    assert len(api.search("*", size=100, start=9900).json()["results"]) == 100
    body = {"query": {"query": "*", "data_sources": [TWITTER]}}
    response = api.post("/api/search?keep_alive_seconds=60", body)
    assert len(response.json()["results"]) == 10  # default size
    assert "total" not in response.json()


@pytest.mark.parametrize(
    "sources", [["twitter_keywords"], ["data365_myspace"], ["wsl_twitter"], [], "x", [1]]
)
def test_unknown_data_source_is_400(api: Client, sources: list[object] | str) -> None:
    assert api.search("*", sources=sources).status_code == 400


def test_overlong_query_bad_json_and_bad_syntax_are_400(api: Client) -> None:
    assert api.search("a" * 4097).status_code == 400
    assert api.search("a" * 4096).status_code == 200
    raw = api.session.post(api.url + "/api/search", data=b"{nope", timeout=10)
    assert raw.status_code == 400
    for bad in ("(covid", "covid AND", "doc_date:[2024 TO", "doc_date:[yesterday TO *]"):
        assert api.search(bad).status_code == 400, bad


def test_count_and_total(emu: Emulator, api: Client) -> None:
    count = api.post("/api/count", {"query": {"query": "*", "data_sources": [TWITTER]}})
    assert count.json() == {"total": {"value": 25_000}}
    covid = api.post("/api/count", {"query": {"query": "covid", "data_sources": [TWITTER]}})
    assert 0 < covid.json()["total"]["value"] < 25_000
    emu.configure(include_total=True)
    assert api.search("covid", size=5).json()["total"] == covid.json()["total"]


# ---------------------------------------------------------------------------- seeded data


def test_seeded_indexes_and_document_shape(emu: Emulator) -> None:
    counts = {s: emu.post_count(s) for s in DOCUMENTED_SOURCES}
    assert counts["twitter_keywords"] == 25_000
    assert counts["tiktok_hashtag"] == 3_000
    assert counts["instagram_profile"] == 1_200
    assert counts["facebook_profile"] == 600
    assert counts["linkedin_company"] == 300
    assert sum(counts.values()) == 30_100
    docs = [p.doc for p in emu.indexes.get("twitter_keywords")]
    assert all(d["id"].isdigit() for d in docs)
    assert all(when(d["doc_date"]) == when(d["content"]["published"])
               for d in docs[:500])  # fmt: skip
    shapes = {("Z" in d["doc_date"], "+" in d["doc_date"], len(d["doc_date"])) for d in docs}
    assert len(shapes) == 4  # no zone, Z, microseconds Z, +00:00
    assert any("extra_field_v2" in d for d in docs)
    per_date = collections.Counter(d["doc_date"] for d in docs)
    assert per_date.most_common(1)[0][1] > 1  # some posts share a doc_date
    weeks = collections.Counter(when(d["doc_date"]).isocalendar()[1] for d in docs)
    assert max(weeks.values()) > 3000
    assert min(weeks.values()) < 100
    facebook = next(iter(emu.indexes.get("facebook_profile"))).doc
    assert facebook["id"].endswith("-data365_facebook_profile")
    assert {"source", "content", "author", "enrichment", "facebook"} <= set(facebook)


def test_scale_and_empty() -> None:
    with Emulator(EmulatorConfig(scale=0.01)) as emu:
        assert emu.post_count("twitter_keywords") == 250
    with Emulator(EmulatorConfig(empty=True)) as emu:
        assert emu.post_count("twitter_keywords") == 0
        assert Client(emu.url).search("*").json()["results"] == []


def test_monthly_windows_page_every_post_exactly_once(api: Client) -> None:
    seen: collections.Counter[str] = collections.Counter()
    for month in range(1, 13):
        low = f"2024-{month:02d}-01T00:00:00Z"
        high = f"{2024 + month // 12}-{month % 12 + 1:02d}-01T00:00:00Z"
        for post in api.hits(f"doc_date:[{low} TO {high}}}"):
            seen[post["id"]] += 1
            assert low <= _utc(post["doc_date"]) < high
    assert len(seen) == 25_000
    assert set(seen.values()) == {1}


def _utc(text: str) -> str:
    moment = when(text)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if not moment.microsecond else moment.isoformat()


# ---------------------------------------------------------------------------- Lucene


def _ids(api: Client, query: str, sources: Iterable[str] = (TWITTER,)) -> set[str]:
    return {p["id"] for p in api.hits(query, sources)}


def _words_of(post: dict[str, Any]) -> set[str]:
    return _body_words(post) | set(post["content"]["hashtags"])


def _body_words(post: dict[str, Any]) -> set[str]:
    return set(lucene_words(post["content"]["body"]))


def lucene_words(text: str) -> list[str]:
    return words(text)


SMALL = "data365_linkedin_company"


def test_terms_and_boolean_operators(api: Client) -> None:
    everything = api.hits("*", [SMALL])
    assert len(everything) == 300
    by_id = {p["id"]: p for p in everything}

    def expect(predicate: Callable[[set[str]], bool]) -> set[str]:
        return {i for i, p in by_id.items() if predicate(_words_of(p))}

    covid = expect(lambda w: "covid" in w)
    assert 0 < len(covid) < 300
    assert _ids(api, "covid", [SMALL]) == covid
    assert _ids(api, "COVID", [SMALL]) == covid
    assert _ids(api, "covid AND tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid && tesla", [SMALL]) == expect(lambda w: {"covid", "tesla"} <= w)
    assert _ids(api, "covid OR tesla", [SMALL]) == expect(lambda w: bool({"covid", "tesla"} & w))
    assert _ids(api, "covid || tesla", [SMALL]) == expect(lambda w: bool({"covid", "tesla"} & w))
    assert _ids(api, "covid AND NOT tesla", [SMALL]) == expect(
        lambda w: "covid" in w and "tesla" not in w
    )
    assert _ids(api, "covid -tesla", [SMALL]) == _ids(api, "covid AND NOT tesla", [SMALL])
    assert _ids(api, "NOT covid", [SMALL]) == set(by_id) - covid
    assert _ids(api, "(covid OR tesla) AND bitcoin", [SMALL]) == expect(
        lambda w: bool({"covid", "tesla"} & w) and "bitcoin" in w
    )
    assert _ids(api, "covid OR (tesla AND bitcoin)", [SMALL]) == expect(
        lambda w: "covid" in w or {"tesla", "bitcoin"} <= w
    )
    assert _ids(api, "cov*", [SMALL]) == covid


def test_phrases_and_fields(api: Client) -> None:
    everything = api.hits("*", [SMALL])
    sample = everything[7]
    body = sample["content"]["body"]
    first_two = " ".join(lucene_words(body)[:2])
    phrase_hits = _ids(api, f'"{first_two}"', [SMALL])
    assert sample["id"] in phrase_hits
    padded = {p["id"]: " " + " ".join(lucene_words(p["content"]["body"])) + " " for p in everything}
    assert phrase_hits == {i for i, text in padded.items() if f" {first_two} " in text}
    handle = sample["author"]["handle"]
    assert sample["id"] in _ids(api, f'author.handle:"{handle}"', [SMALL])
    assert _ids(api, f"author.handle:{handle}", [SMALL]) == {
        p["id"] for p in everything if p["author"]["handle"] == handle
    }
    spanish = _ids(api, "enrichment.language:es", [SMALL])
    assert spanish == {p["id"] for p in everything if p["enrichment"]["language"] == "es"}
    assert _ids(api, f'id:"{sample["id"]}"', [SMALL]) == {sample["id"]}
    grouped = _ids(api, "content.body:(covid OR tesla)", [SMALL])
    assert grouped == {p["id"] for p in everything if {"covid", "tesla"} & _body_words(p)}


def test_date_range_brackets_and_open_ends(api: Client) -> None:
    posts = sorted(api.hits("*", [SMALL]), key=lambda p: when(p["doc_date"]))
    a, b = posts[100], posts[200]
    ta, tb = (when(p["doc_date"]) for p in (a, b))
    fa, fb = (t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in (ta, tb))

    def window(query: str) -> set[str]:
        return _ids(api, query, [SMALL])

    def expect(
        lo_ok: Callable[[dt.datetime], bool], hi_ok: Callable[[dt.datetime], bool]
    ) -> set[str]:
        stamps = {p["id"]: when(p["doc_date"]) for p in posts}
        return {i for i, t in stamps.items() if lo_ok(t) and hi_ok(t)}

    assert window(f"doc_date:[{fa} TO {fb}]") == expect(lambda t: t >= ta, lambda t: t <= tb)
    assert window(f"doc_date:{{{fa} TO {fb}}}") == expect(lambda t: t > ta, lambda t: t < tb)
    assert window(f"doc_date:[{fa} TO {fb}}}") == expect(lambda t: t >= ta, lambda t: t < tb)
    assert window(f"doc_date:{{{fa} TO {fb}]") == expect(lambda t: t > ta, lambda t: t <= tb)
    assert window(f'doc_date:["{fa}" TO "{fb}"}}') == expect(lambda t: t >= ta, lambda t: t < tb)
    assert window(f"doc_date:[* TO {fb}}}") == expect(lambda t: True, lambda t: t < tb)
    assert window(f"doc_date:[{fa} TO *]") == expect(lambda t: t >= ta, lambda t: True)
    assert window("doc_date:[* TO *]") == {p["id"] for p in posts}
    assert a["id"] in window(f"doc_date:[{fa} TO {fa}]")
    # Same instant, another spelling: compared as instants, not strings.
    plus = ta.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert window(f'content.published:["{plus}" TO "{plus}"]') == window(f"doc_date:[{fa} TO {fa}]")
    # A range combined with terms, and ranges on content.found.
    assert window(f"(covid OR tesla) AND doc_date:[{fa} TO {fb}}}") == (
        window("covid OR tesla") & window(f"doc_date:[{fa} TO {fb}}}")
    )
    found = sorted(when(p["content"]["found"]) for p in posts)[150]
    cut = found.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert window(f"content.found:[* TO {cut}}}") == {
        p["id"] for p in posts if when(p["content"]["found"]) < found
    }


def test_parser_trees() -> None:
    T, P, R = lucene.Term, lucene.Phrase, lucene.Range
    assert lucene.parse("") == lucene.MatchAll()
    assert lucene.parse("*") == lucene.MatchAll()
    assert lucene.parse("*:*") == lucene.MatchAll()
    assert lucene.parse("a b") == lucene.And((T(None, "a"), T(None, "b")))
    assert lucene.parse("a OR b AND c") == lucene.Or(
        (T(None, "a"), lucene.And((T(None, "b"), T(None, "c"))))
    )
    assert lucene.parse("NOT a") == lucene.Not(T(None, "a"))
    assert lucene.parse('f:"x y"') == P("f", "x y")
    assert lucene.parse("f:(a OR b)") == lucene.Or((T("f", "a"), T("f", "b")))
    assert lucene.parse("covid-19") == T(None, "covid-19")
    assert lucene.parse(r"a\:b") == T(None, "a:b")
    assert lucene.parse("ANDROID") == T(None, "ANDROID")
    assert lucene.parse("d:[2024-01-01T00:00:00Z TO *}") == R(
        "d", "2024-01-01T00:00:00Z", None, include_low=True, include_high=False
    )
    assert lucene.parse('(q) AND doc_date:{"a b" TO c]') == lucene.And(
        (T(None, "q"), R("doc_date", "a b", "c", include_low=False, include_high=True))
    )
    for bad in ("(a", "a)", "a AND", "OR a", "[a TO b]", "f:[a b]", '"open', "f:", "a:b:c"):
        with pytest.raises(lucene.LuceneError):
            lucene.parse(bad)


# ---------------------------------------------------------------------------- order


def _order_ids(api: Client, **extra: object) -> list[str]:
    return [p["id"] for p in api.search("*", [SMALL], **extra).json()["results"]]


def test_relevance_order_is_stable_and_not_by_date(emu: Emulator, api: Client) -> None:
    first = [p["doc_date"] for p in api.hits("*", [SMALL])]
    again = [p["doc_date"] for p in api.hits("*", [SMALL])]
    assert first == again
    instants = [when(d) for d in first]
    assert instants not in (sorted(instants), sorted(instants, reverse=True))
    emu.configure(search_order="doc_date_desc")
    desc = [when(p["doc_date"]) for p in api.hits("*", [SMALL])]
    assert desc == sorted(desc, reverse=True)
    emu.configure(search_order="doc_date_asc")
    asc = [when(p["doc_date"]) for p in api.hits("*", [SMALL])]
    assert asc == sorted(asc)


def test_explicit_sort_is_honoured_unless_disabled(emu: Emulator, api: Client) -> None:
    sort = [{"field": "content.published", "order": "ASC"}]
    asc = [when(p["doc_date"]) for p in api.hits("*", [SMALL], sort=sort)]
    assert asc == sorted(asc)
    emu.configure(honour_sort=False)
    assert _order_ids(api, sort=sort) == _order_ids(api)
    assert api.search("*", [SMALL], sort=[{"field": "x", "order": "up"}]).status_code == 200
    emu.configure(honour_sort=True)
    assert api.search("*", [SMALL], sort=[{"field": "x", "order": "up"}]).status_code == 400


def test_search_after_pages_by_doc_date(api: Client) -> None:
    sort = [{"field": "doc_date", "order": "desc"}]
    all_ids = [p["id"] for p in api.hits("*", [SMALL], sort=sort)]
    body = {"query": {"query": "*", "data_sources": [SMALL], "sort": sort, "size": 100}}
    first = api.post("/api/search", body).json()
    assert [p["id"] for p in first["results"]] == all_ids[:100]
    last = first["results"][-1]
    assert first["search_after"] == [str(int(when(last["doc_date"]).timestamp() * 1000))]
    body["query"]["search_after"] = first["search_after"]
    second = api.post("/api/search", body).json()["results"]
    assert second
    assert all(when(p["doc_date"]) < when(last["doc_date"]) for p in second)
