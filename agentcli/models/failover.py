"""The failover chain: an ordered list of models, and the rule for moving along it.

The session always talks to `chain.current`. When a call fails after the SDK's own retries, the
loop asks `on_error`: faults the SDKs do not retry (a stream cut mid-way, an error event inside
the stream, a dropped connection) are retried on the same model a few times; an HTTP error the
SDK already retried moves the chain at once to the next model that can be built.
A model that failed rests for a cool-down; `maybe_restore` goes back to the primary after it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from agentcli.models.base import Model, ModelError

MAX_BACKOFF_S = 30.0


@dataclass
class _Slot:
    name: str
    model: Model | None = None
    resting_until: float = 0.0
    broken: str | None = None  # set when the model cannot even be built (no key, not installed)


class FailoverChain:
    """Models in order of preference, built lazily by `factory(name)`."""

    def __init__(self, names: list[str], factory: Callable[[str], Model], *,
                 cooldown_s: float = 300.0, same_model_retries: int = 2,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if not names:
            raise ValueError("a failover chain needs at least one model")
        self._slots = [_Slot(n) for n in dict.fromkeys(names)]
        self._factory = factory
        self.cooldown_s = cooldown_s
        self.same_model_retries = same_model_retries
        self._clock = clock
        self._sleep = sleep
        self._index = 0
        self._retries = 0

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._slots]

    @property
    def current(self) -> Model:
        """The model in use, built on first use. Raises ModelError if none can be built."""
        slot = self._slots[self._index]
        if slot.model is None:
            try:
                slot.model = self._factory(slot.name)
            except ModelError as err:
                slot.broken = str(err)
                if self._advance() is None:
                    raise
                return self.current
        return slot.model

    @property
    def current_name(self) -> str:
        return self._slots[self._index].name

    def switch_to(self, name: str) -> Model:
        """Make `name` the current model (the user asked for it), adding it to the chain.
        Raises ModelError, leaving the chain as it was, if it cannot be built."""
        names = self.names
        slot = self._slots[names.index(name)] if name in names else _Slot(name)
        if slot.model is None:
            slot.model = self._factory(name)
        if name not in names:
            self._slots.insert(0, slot)
        self._index = self.names.index(name)
        slot.broken, slot.resting_until, self._retries = None, 0.0, 0
        return slot.model

    def on_error(self, err: ModelError) -> str:
        """Decide after a failed call: "retry" (same model), "switched" or "give_up"."""
        if not err.fails_over:
            return "give_up"
        # An HTTP error status has already been retried by the SDK; a stream cut or an error
        # event mid-stream has not, and is usually gone on the next try.
        sdk_retried = err.status is not None and err.status >= 400
        if err.transient and not sdk_retried and self._retries < self.same_model_retries:
            self._retries += 1
            wait = err.retry_after if err.retry_after is not None else 2.0 ** (self._retries - 1)
            self._sleep(min(max(wait, 0.0), MAX_BACKOFF_S))
            return "retry"
        self._slots[self._index].resting_until = self._clock() + self.cooldown_s
        return "switched" if self._advance() is not None else "give_up"

    def on_success(self) -> None:
        self._retries = 0

    def maybe_restore(self) -> str | None:
        """Go back to the most preferred model whose cool-down is over; return its name if moved."""
        now = self._clock()
        for i, slot in enumerate(self._slots[: self._index]):
            if slot.broken is None and slot.resting_until <= now:
                self._index = i
                self._retries = 0
                return slot.name
        return None

    def _advance(self) -> int | None:
        now = self._clock()
        order = list(range(self._index + 1, len(self._slots))) + list(range(0, self._index))
        for i in order:
            slot = self._slots[i]
            if slot.broken is None and slot.resting_until <= now:
                self._index = i
                self._retries = 0
                return i
        return None
