"""What the LLM judge used: requests sent and tokens counted by the server, and what they cost.

Tokens come from each response's `usage` (prompt and completion tokens, as the server counts
them); a request that got no completion (an error, a timeout) counts as a request with no tokens.
Prices are in US dollars per million tokens: given (`--price-in`, `--price-out`) or, for a few
models, the provider's published list price on the date below. Anything else has no price, and
the cost is then reported as unknown, never guessed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

# OpenAI's list prices (standard tier, per million tokens: input, output) as published on
# openai.com/api/pricing, checked 2025-08. The Batch API costs half of these.
PRICES_CHECKED = "2025-08"
LIST_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00),
    "gpt-5-mini": (0.25, 2.00),
    "gpt-5-nano": (0.05, 0.40),
}


@dataclass
class Usage:
    """A running total, shared by the threads of a run."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, requests: int = 0, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def add_completion(self, completion: object) -> None:
        """The tokens of one chat completion, if the server reported them."""
        usage = getattr(completion, "usage", None)
        if isinstance(completion, dict):
            usage = completion.get("usage")
        if usage is None:
            return
        get = usage.get if isinstance(usage, dict) else lambda k: getattr(usage, k, None)

        def count(name: str) -> int:  # a server's odd figure ("n/a") counts as none
            try:
                return max(0, int(get(name) or 0))
            except (TypeError, ValueError):
                return 0

        self.add(prompt_tokens=count("prompt_tokens"), completion_tokens=count("completion_tokens"))

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens, and where the figures came from."""

    input: float
    output: float
    source: str

    def cost(self, usage: Usage) -> float:
        return (usage.prompt_tokens * self.input + usage.completion_tokens * self.output) / 1e6


def price_for(model: str, price_in: float | None = None, price_out: float | None = None) -> Price | None:
    """The price to use: the given one (both figures, or one with the list price's other), else
    the model's list price, else None (unknown)."""
    listed = LIST_PRICES.get(model)
    if price_in is not None and price_out is not None:
        return Price(price_in, price_out, "given")
    if listed is None:
        return None
    if price_in is not None or price_out is not None:
        return Price(
            price_in if price_in is not None else listed[0],
            price_out if price_out is not None else listed[1],
            f"given, and {model}'s list price ({PRICES_CHECKED}) for the other",
        )
    return Price(*listed, f"{model}'s list price as of {PRICES_CHECKED}")
