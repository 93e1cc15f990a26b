class Base:
    def save(self):
        return self.validate()

    def validate(self):
        return True


class Item(Base):
    def validate(self):
        return self.price >= 0

    def total(self, count):
        return price_of(self) * count


def price_of(item):
    return item.price
