; Outline of Python definitions (tree-sitter-python 0.25) for compact context.
; @body is a function body that an outline may replace with "..."; @doc is a docstring, which
; the outline keeps in front of the "...".

(function_definition
  body: (block . (expression_statement (string) @doc)) @body)

(function_definition
  body: (block) @body)

(class_definition
  body: (block . (expression_statement (string) @doc)))
