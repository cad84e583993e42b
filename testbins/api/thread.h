/* Raw threads for the api test programs: the shared ones of testbins/rt. */
#ifndef GUARDLD_API_THREAD_H
#define GUARDLD_API_THREAD_H
#include "rt/thread.h"
#endif
