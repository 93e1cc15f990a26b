; inherits: ecmascript-prompts
; TypeScript parameters wrap their names.

(required_parameter pattern: (identifier) @defined)
(optional_parameter pattern: (identifier) @defined)
