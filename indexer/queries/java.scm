; Definitions and references for Java (tree-sitter-java 0.23).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; Abstract and interface methods without a body stay in their type's chunk.

(class_declaration
  name: (identifier) @name) @definition.class

(interface_declaration
  name: (identifier) @name) @definition.interface

(enum_declaration
  name: (identifier) @name) @definition.enum

(record_declaration
  name: (identifier) @name) @definition.record

(method_declaration
  name: (identifier) @name
  body: (block)) @definition.method

(constructor_declaration
  name: (identifier) @name) @definition.method

(compact_constructor_declaration
  name: (identifier) @name) @definition.method

(method_invocation
  name: (identifier) @name) @reference.call

(object_creation_expression
  type: [
    (type_identifier) @name
    (scoped_type_identifier) @name
    (generic_type [(type_identifier) (scoped_type_identifier)] @name)
  ]) @reference.call

; The whole declaration; code drops `import`, `static` and `;` ("java.util.List", "java.io.*").
(import_declaration) @name @reference.import

(superclass
  [
    (type_identifier) @name
    (scoped_type_identifier) @name
    (generic_type [(type_identifier) (scoped_type_identifier)] @name)
  ]) @reference.inherits

(super_interfaces
  (type_list
    [
      (type_identifier) @name
      (scoped_type_identifier) @name
      (generic_type [(type_identifier) (scoped_type_identifier)] @name)
    ])) @reference.inherits

(extends_interfaces
  (type_list
    [
      (type_identifier) @name
      (scoped_type_identifier) @name
      (generic_type [(type_identifier) (scoped_type_identifier)] @name)
    ])) @reference.inherits
