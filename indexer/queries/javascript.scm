; Definitions and references for JavaScript (tree-sitter-javascript 0.25).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; `export` wrappers and single-variable `const f = () => ...` declarations are added in code.

(class_declaration
  name: (identifier) @name) @definition.class

; A named class expression; tree-sitter also recovers a class after a syntax error as one.
(class
  name: (identifier) @name) @definition.class

(function_declaration
  name: (identifier) @name) @definition.function

(generator_function_declaration
  name: (identifier) @name) @definition.function

(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(class_body
  (method_definition
    name: (_) @name) @definition.method)

(class_body
  (field_definition
    property: (property_identifier) @name
    value: [(arrow_function) (function_expression)]) @definition.method)

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (member_expression
    property: (property_identifier) @name)) @reference.call

(new_expression
  constructor: (identifier) @name) @reference.call

(new_expression
  constructor: (member_expression
    property: (property_identifier) @name)) @reference.call

; Named imports: @module is the module specifier, joined in front of @name ("react.useState").
(import_statement
  (import_clause
    (named_imports
      (import_specifier
        name: (_) @name)))
  source: (string
    (string_fragment) @module)) @reference.import

; Every import statement also names its module, which covers default, namespace and
; side-effect imports.
(import_statement
  source: (string
    (string_fragment) @name)) @reference.import

(call_expression
  function: (identifier) @_require
  arguments: (arguments
    .
    (string
      (string_fragment) @name))
  (#eq? @_require "require")) @reference.import

(class_heritage
  [(identifier) (member_expression)] @name) @reference.inherits
