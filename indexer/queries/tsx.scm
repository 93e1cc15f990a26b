; inherits: typescript
; TSX: the TypeScript patterns (loaded first through the line above) plus JSX components.
; A capitalised JSX element such as <TodoItem /> calls a component; lowercase tags are HTML.

(jsx_opening_element
  name: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.call

(jsx_self_closing_element
  name: (identifier) @name
  (#match? @name "^[A-Z]")) @reference.call
