"""Facts derived from the model, computed once and kept with the node they are about."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Fact = TypeVar("Fact")


class Analysed:
    """Facts derived from a node of the model, in the spirit of LibCST's metadata: ``facts(provider, *about)`` is
    ``provider(node, *about)``, computed the first time any rule asks and kept with the node, so every rule shares
    one analysis and it is freed with the document (module-level caches keyed on the node kept documents alive and,
    once full, recomputed what a rule had just asked). ``about`` must be hashable: the other nodes a fact concerns."""

    _facts: dict[Any, Any]  # set on the first question (not a field of the nodes)

    def facts(self, provider: Callable[..., Fact], *about: Any) -> Fact:
        key = (provider, *about) if about else provider  # rules ask millions of times: no tuple when not needed
        try:
            return self._facts[key]
        except AttributeError:  # in the instance dictionary, as cached_property keeps its values: frozen nodes allow it
            self.__dict__["_facts"] = {}
        except KeyError:
            pass
        found = self._facts[key] = provider(self, *about)
        return found
