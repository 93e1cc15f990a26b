import { EventEmitter } from "events";
import type { Todo } from "./types";

export interface Store<T> {
  get(id: string): T | undefined;
  put(item: T): void;
}

export enum Status {
  Open = "open",
  Done = "done",
}

type Listener = (todo: Todo) => void;

export abstract class BaseStore<T extends { id: string }> implements Store<T> {
  protected items = new Map<string, T>();

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  abstract put(item: T): void;
}

export class TodoStore extends BaseStore<Todo> {
  private listeners: Listener[] = [];

  constructor(private readonly events: EventEmitter) {
    super();
  }

  put(todo: Todo): void {
    this.items.set(todo.id, todo);
    this.listeners.forEach((listener) => listener(todo));
    this.events.emit("put", todo);
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.push(listener);
    return () => this.unsubscribe(listener);
  };

  private unsubscribe(listener: Listener): void {
    this.listeners = this.listeners.filter((other) => other !== listener);
  }
}

export function createStore(): TodoStore {
  return new TodoStore(new EventEmitter());
}
