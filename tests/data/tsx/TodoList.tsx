import React, { useState } from "react";
import { TodoItem } from "./TodoItem";
import type { Todo } from "./types";

interface TodoListProps {
  todos: Todo[];
  onToggle: (id: string) => void;
}

export function TodoList({ todos, onToggle }: TodoListProps) {
  const [filter, setFilter] = useState<"all" | "open">("all");
  const visible = todos.filter((todo) => filter === "all" || !todo.done);
  return (
    <ul>
      {visible.map((todo) => (
        <TodoItem key={todo.id} todo={todo} onToggle={onToggle} />
      ))}
      <FilterButton current={filter} onChange={setFilter} />
    </ul>
  );
}

const FilterButton = ({ current, onChange }: { current: string; onChange: (f: "all" | "open") => void }) => (
  <button onClick={() => onChange(current === "all" ? "open" : "all")}>{current}</button>
);

export class ErrorBoundary extends React.Component<{ children: React.ReactNode }, { failed: boolean }> {
  state = { failed: false };

  static getDerivedStateFromError() {
    return { failed: true };
  }

  render() {
    return this.state.failed ? <p>Something went wrong.</p> : this.props.children;
  }
}
