; Outline of Java definitions (tree-sitter-java 0.23) for compact context: @body is a method or
; constructor body that an outline may replace with "{ ... }".

(method_declaration body: (block) @body)
(constructor_declaration body: (constructor_body) @body)
(lambda_expression body: (block) @body)
