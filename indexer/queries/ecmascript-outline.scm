; Outline of JavaScript and TypeScript definitions for compact context: @body is a function body
; that an outline may replace with "{ ... }". Comments above a definition are part of its chunk.

(function_declaration body: (statement_block) @body)
(generator_function_declaration body: (statement_block) @body)
(function_expression body: (statement_block) @body)
(arrow_function body: (statement_block) @body)
(method_definition body: (statement_block) @body)
