; Definitions and references for Go (tree-sitter-go 0.25).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; Methods carry @receiver, the receiver's type name, because Go methods sit outside their type.

(type_spec
  name: (type_identifier) @name
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name
  type: (interface_type)) @definition.interface

(function_declaration
  name: (identifier) @name) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @receiver
        (pointer_type (type_identifier) @receiver)
        (generic_type type: (type_identifier) @receiver)
        (pointer_type (generic_type type: (type_identifier) @receiver))
      ]))
  name: (field_identifier) @name) @definition.method

(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (selector_expression
    field: (field_identifier) @name)) @reference.call

; Imports name the package path ("net/http").
(import_spec
  path: (interpreted_string_literal
    (interpreted_string_literal_content) @name)) @reference.import

; Embedding is Go's inheritance: embedded struct fields and embedded interfaces.
(field_declaration_list
  (field_declaration
    !name
    type: [
      (type_identifier) @name
      (qualified_type) @name
      (pointer_type [(type_identifier) (qualified_type)] @name)
    ])) @reference.inherits

(interface_type
  (type_elem
    [(type_identifier) (qualified_type)] @name)) @reference.inherits
