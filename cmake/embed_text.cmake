# Writes a C++ file defining `const char* const NAME` (in NAMESPACE) holding the text of IN.
file(READ ${IN} text)
set(out "// Generated from ${IN} by cmake/embed_text.cmake. Do not edit.\n")
string(APPEND out "namespace ${NAMESPACE} {\nextern const char* const ${NAME};\n")
string(APPEND out "const char* const ${NAME} = R\"lmtext(${text})lmtext\";\n}\n")
file(WRITE ${OUT} "${out}")
