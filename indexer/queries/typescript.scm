; Definitions and references for TypeScript (tree-sitter-typescript 0.23, the typescript grammar).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; Interface members, abstract methods and overload signatures have no body, so they stay in the
; chunk of the interface, class or module that holds them.

(class_declaration
  name: (type_identifier) @name) @definition.class

(abstract_class_declaration
  name: (type_identifier) @name) @definition.class

(interface_declaration
  name: (type_identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

; A named class expression; tree-sitter also recovers a class after a syntax error as one.
(class
  name: (type_identifier) @name) @definition.class

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
  (public_field_definition
    name: (property_identifier) @name
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

(extends_clause
  value: [(identifier) (member_expression)] @name) @reference.inherits

(implements_clause
  [(type_identifier) (nested_type_identifier)] @name) @reference.inherits

(implements_clause
  (generic_type
    name: [(type_identifier) (nested_type_identifier)] @name)) @reference.inherits

(extends_type_clause
  type: [(type_identifier) (nested_type_identifier)] @name) @reference.inherits

(extends_type_clause
  type: (generic_type
    name: [(type_identifier) (nested_type_identifier)] @name)) @reference.inherits
