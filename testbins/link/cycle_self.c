/* libself.so NEEDs itself (second build, linked against the first). */
#include "say.h"
__attribute__((constructor)) static void ctor(void) { say("init self"); }
int self_value(void) { return 5; }
int self_calls_self(void) { return self_value() * 2; }
