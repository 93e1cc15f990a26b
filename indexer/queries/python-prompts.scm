; Prompt discovery for Python (tree-sitter-python 0.25).
; @string captures get their ancestors (see query_captures), the other matches describe calls,
; assignments, dict pairs and the names each scope defines, keyed by their start byte.

(string) @string
(concatenated_string) @string

; Names passed where a prompt may go, so a string assigned to that name can be followed.
(argument_list [(identifier) (attribute)] @string.ref)
(keyword_argument value: [(identifier) (attribute)] @string.ref)
(pair value: [(identifier) (attribute)] @string.ref)
(tuple [(identifier) (attribute)] @string.ref)
(list [(identifier) (attribute)] @string.ref)
(binary_operator left: [(identifier) (attribute)] @string.ref)

(interpolation expression: (_) @expression) @interpolation
(interpolation format_specifier: (_) @format_spec) @interpolation

(call function: (_) @callee arguments: (argument_list) @arguments) @call
(call arguments: (argument_list (_) @argument)) @call
(keyword_argument name: (identifier) @key value: (_) @value) @keyword
(pair key: (_) @key value: (_) @value) @pair
(assignment left: (_) @target right: (_) @value) @assignment

(function_definition) @scope
(lambda) @scope

(assignment left: (identifier) @defined)
(assignment left: (pattern_list (identifier) @defined))
(augmented_assignment left: (identifier) @defined)
(parameters (identifier) @defined)
(lambda_parameters (identifier) @defined)
(default_parameter name: (identifier) @defined)
(typed_parameter (identifier) @defined)
(typed_default_parameter name: (identifier) @defined)
(for_statement left: (identifier) @defined)
(for_statement left: (pattern_list (identifier) @defined))
(for_in_clause left: (identifier) @defined)
(as_pattern alias: (as_pattern_target (identifier) @defined))
(named_expression name: (identifier) @defined)
(aliased_import alias: (identifier) @defined)
(import_from_statement name: (dotted_name . (identifier) @defined .))
(import_statement name: (dotted_name . (identifier) @defined))
(function_definition name: (identifier) @defined)
(class_definition name: (identifier) @defined)
