// Shopping cart with tax and a change event.
import { formatPrice } from "./format.js";
import EventEmitter from "events";

const TAX_RATE = 0.2;

/**
 * A cart that emits "change" whenever its total changes.
 */
export class Cart extends EventEmitter {
  items = [];

  onChange = () => {
    this.emit("change", this.total());
  };

  add(product, quantity = 1) {
    this.items.push({ product, quantity });
    this.onChange();
  }

  total() {
    const subtotal = this.items.reduce((sum, line) => sum + line.product.price * line.quantity, 0);
    return applyTax(subtotal);
  }
}

export function applyTax(amount) {
  return amount * (1 + TAX_RATE);
}

export const describeCart = (cart) => {
  const lines = cart.items.map((line) => `${line.quantity} x ${line.product.name}`);
  return lines.join("\n") + "\n" + formatPrice(cart.total());
};

function* batches(items, size) {
  for (let i = 0; i < items.length; i += size) {
    yield items.slice(i, i + size);
  }
}

export default new Cart();
