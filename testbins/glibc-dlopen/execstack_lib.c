/* libexecstack.so: linked with -z execstack (PT_GNU_STACK RWX). Loading it
 * makes every stack executable under glibc 2.36's ld.so. */
int execstack_value(void) { return 42; }
