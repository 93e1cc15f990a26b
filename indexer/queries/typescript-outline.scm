; inherits: ecmascript-outline
; The function bodies are the same node types in the typescript grammar.
