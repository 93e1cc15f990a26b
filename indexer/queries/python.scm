; Definitions and references for Python (tree-sitter-python 0.25).
; Every pattern has one main capture (@definition.<kind> or @reference.<kind>) and a @name.
; Decorators and methods are resolved in code: a function nested in a class is a method.

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

; Calls: the callee's own name, so `self.save()` and `save()` both give "save".
(call
  function: (identifier) @name) @reference.call

(call
  function: (attribute
    attribute: (identifier) @name)) @reference.call

; Attribute types: the class called in `self.lock = Lock()` or `self.lock = locks.Lock()`, so that
; `self.lock.acquire()` resolves to that class's method. The attribute's name is read in code.
(assignment
  left: (attribute
    object: (identifier) @_object
    attribute: (identifier))
  right: (call
    function: [(identifier) (attribute)] @name)
  (#eq? @_object "self")) @reference.attribute

; The same for a local variable: `charset = Charset(name)`, then `charset.header_encode()`.
(assignment
  left: (identifier)
  right: (call
    function: [(identifier) (attribute)] @name)) @reference.attribute

; Imports: @module is joined in front of @name ("os.path.join", ".utils").
(import_statement
  name: (dotted_name) @name) @reference.import

(import_statement
  name: (aliased_import
    name: (dotted_name) @name)) @reference.import

(import_from_statement
  module_name: (_) @module
  name: (dotted_name) @name) @reference.import

(import_from_statement
  module_name: (_) @module
  name: (aliased_import
    name: (dotted_name) @name)) @reference.import

(import_from_statement
  module_name: (_) @module
  (wildcard_import) @name) @reference.import

; Base classes as written ("Base", "abc.ABC"); keyword arguments such as metaclass= are skipped.
(class_definition
  superclasses: (argument_list
    [(identifier) (attribute)] @name)) @reference.inherits

(class_definition
  superclasses: (argument_list
    (subscript
      value: [(identifier) (attribute)] @name))) @reference.inherits
