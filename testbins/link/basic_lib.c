/* libbasic.so: functions and data used by basic.c, and references back
 * into the executable (exe_value, exe_cb). */
#include "say.h"

int counter = 40;
int *counter_ptr = &counter;          /* a pointer in data: R_X86_64_64/RELATIVE */
const char lib_msg[] = "message from libbasic";
extern int exe_value;                 /* defined by the executable */
int exe_cb(int x);                    /* defined by the executable */

int lib_add(int x) { return x + counter++; }
int lib_calls_back(int x) { return exe_cb(x) + exe_value; }
const char *lib_name(void) { return lib_msg; }
int (*lib_fp)(int) = lib_add;         /* function pointer in data */
int (*lib_add_addr(void))(int) { return lib_add; }
