; Outline of Rust definitions (tree-sitter-rust 0.24) for compact context: @body is a function
; body that an outline may replace with "{ ... }". Struct, trait and impl bodies stay whole.

(function_item body: (block) @body)
(closure_expression body: (block) @body)
