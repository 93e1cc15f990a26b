; Definitions and references for Rust (tree-sitter-rust 0.24).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; An impl block is named after its type, so its functions become "Type.method". Trait
; signatures without a body stay in the trait's chunk; default methods are methods.

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name))
  ]) @definition.impl

(function_item
  name: (identifier) @name) @definition.function

; Calls inside macro arguments (`format!("{}", x.area())`) are token trees to tree-sitter,
; so they are not found.
(call_expression
  function: (identifier) @name) @reference.call

(call_expression
  function: (scoped_identifier
    name: (identifier) @name)) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name)) @reference.call

(call_expression
  function: (generic_function
    function: [
      (identifier) @name
      (scoped_identifier name: (identifier) @name)
      (field_expression field: (field_identifier) @name)
    ])) @reference.call

; The whole use tree; code expands `a::{b, c as d}` into "a::b" and "a::c".
(use_declaration
  argument: (_) @name) @reference.import

(impl_item
  trait: [
    (type_identifier) @name
    (scoped_type_identifier) @name
    (generic_type type: [(type_identifier) (scoped_type_identifier)] @name)
  ]) @reference.inherits

(trait_item
  bounds: (trait_bounds
    [(type_identifier) (scoped_type_identifier)] @name)) @reference.inherits
