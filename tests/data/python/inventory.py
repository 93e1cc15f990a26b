"""Inventory tracking for a small warehouse."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100


class InventoryError(Exception):
    """Raised when stock would go negative."""


@dataclass
class Item:
    sku: str
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return self.quantity == 0


class Warehouse:
    """Holds items by SKU."""

    capacity = DEFAULT_CAPACITY

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: dict[str, Item] = {}

    def add(self, sku: str, quantity: int) -> Item:
        item = self.items.setdefault(sku, Item(sku))
        item.quantity += quantity
        logger.info("added %d of %s", quantity, sku)
        return item

    def remove(self, sku: str, quantity: int) -> None:
        item = self.items[sku]
        if item.quantity < quantity:
            raise InventoryError(f"only {item.quantity} of {sku} left")
        item.quantity -= quantity

    # Computed on demand because items change often.
    @property
    def total(self) -> int:
        return sum(item.quantity for item in self.items.values())

    async def sync(self, client) -> None:
        def payload() -> dict:
            return {"name": self.name, "total": self.total}

        await client.post("/inventory", json=payload())

    class Report:
        def render(self, warehouse: Warehouse) -> str:
            return json.dumps({sku: item.quantity for sku, item in warehouse.items.items()})


def load(path: Path) -> Warehouse:
    data = json.loads(path.read_text())
    warehouse = Warehouse(data["name"])
    for sku, quantity in data["items"].items():
        warehouse.add(sku, quantity)
    return warehouse


if __name__ == "__main__":
    print(load(Path("inventory.json")).total)
