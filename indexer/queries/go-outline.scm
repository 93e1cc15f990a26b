; Outline of Go definitions (tree-sitter-go 0.25) for compact context: @body is a function body
; that an outline may replace with "{ ... }". Struct and interface bodies stay whole.

(function_declaration body: (block) @body)
(method_declaration body: (block) @body)
(func_literal body: (block) @body)
