; inherits: ecmascript-prompts
; JavaScript parameters are bare identifiers.

(formal_parameters (identifier) @defined)
