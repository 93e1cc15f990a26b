; Prompt discovery shared by JavaScript, TypeScript and TSX (tree-sitter-javascript 0.25,
; tree-sitter-typescript 0.23); each language file inherits it and adds its parameter patterns.
; @string captures get their ancestors (see query_captures), the other matches describe calls,
; assignments, object pairs and the names each scope defines, keyed by their start byte.

(string) @string
(template_string) @string

; Names passed where a prompt may go, so a string assigned to that name can be followed.
(arguments [(identifier) (member_expression)] @string.ref)
(pair value: [(identifier) (member_expression)] @string.ref)
(array [(identifier) (member_expression)] @string.ref)
(shorthand_property_identifier) @string.ref

(template_substitution (_) @expression) @interpolation

(call_expression function: (_) @callee arguments: (_) @arguments) @call
(new_expression constructor: (_) @callee arguments: (arguments) @arguments) @call
(call_expression arguments: (arguments (_) @argument)) @call
(new_expression arguments: (arguments (_) @argument)) @call
(pair key: (_) @key value: (_) @value) @pair
(variable_declarator name: (_) @target value: (_) @value) @assignment
(assignment_expression left: (_) @target right: (_) @value) @assignment

(function_declaration) @scope
(function_expression) @scope
(arrow_function) @scope
(method_definition) @scope

(variable_declarator name: (identifier) @defined)
(assignment_pattern left: (identifier) @defined)
(arrow_function parameter: (identifier) @defined)
(shorthand_property_identifier_pattern) @defined
(function_declaration name: (identifier) @defined)
(import_specifier name: (identifier) @defined)
(import_clause (identifier) @defined)
