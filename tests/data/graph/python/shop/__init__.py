"""A tiny shop package: the code graph tests resolve its calls and imports."""

from .models import Item
