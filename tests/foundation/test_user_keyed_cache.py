"""The store under the per-process caches: fresh answers only, forgotten by user, bounded."""

from __future__ import annotations

from relink.kit.user_keyed_cache import UserKeyedCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_used_only_within_its_lifetime() -> None:
    clock = Clock()
    cache = UserKeyedCache[str](ttl_seconds=5, clock=clock)
    cache.put(cache.ticket(), "a", user_id=1, value="seat")

    clock.now = 4.9
    fresh = cache.get("a")
    clock.now = 5.0

    assert fresh == "seat"
    assert cache.get("a") is None
    assert len(cache) == 0


def test_forgetting_a_user_drops_every_key_of_theirs_and_no_other() -> None:
    cache = UserKeyedCache[str]()
    for key, user_id in (("laptop", 1), ("phone", 1), ("other", 2)):
        cache.put(cache.ticket(), key, user_id=user_id, value=key)

    cache.forget([1])

    assert (cache.get("laptop"), cache.get("phone"), cache.get("other")) == (None, None, "other")


def test_a_read_that_began_before_its_user_was_forgotten_is_not_kept() -> None:
    cache = UserKeyedCache[str]()
    ticket = cache.ticket()
    cache.forget([1])
    cache.put(ticket, "a", user_id=1, value="stale")
    cache.put(ticket, "b", user_id=2, value="fine")

    assert cache.get("a") is None
    assert cache.get("b") == "fine"


def test_a_read_that_began_before_everything_was_forgotten_is_not_kept() -> None:
    cache = UserKeyedCache[str]()
    ticket = cache.ticket()
    cache.forget_all()
    cache.put(ticket, "a", user_id=1, value="stale")

    assert len(cache) == 0


def test_a_full_cache_starts_afresh() -> None:
    cache = UserKeyedCache[int](max_entries=3)
    for n in range(3):
        cache.put(cache.ticket(), f"k{n}", user_id=n, value=n)

    cache.put(cache.ticket(), "k3", user_id=3, value=3)

    assert len(cache) == 0
    cache.put(cache.ticket(), "k3", user_id=3, value=3)
    assert cache.get("k3") == 3


def test_a_key_stored_again_moves_to_its_new_user() -> None:
    cache = UserKeyedCache[str]()
    cache.put(cache.ticket(), "token", user_id=1, value="old")
    cache.put(cache.ticket(), "token", user_id=2, value="new")

    cache.forget([1])

    assert cache.get("token") == "new"
