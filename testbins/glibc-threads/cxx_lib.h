// libcxxthr.so: C++ thread_local objects and exceptions in a library.
#ifndef CXX_THR_LIB_H
#define CXX_THR_LIB_H

// Adds to this thread's library counter (a thread_local object with a
// constructor and a destructor) and returns it.
int lib_bump(int by);
// Throws from inside the library: std::out_of_range, an int, or a
// library class derived from std::runtime_error, by `v % 3`.
[[noreturn]] void lib_throw(int v);
// How many of the library's thread_local objects were constructed and
// destroyed so far.
int lib_constructed();
int lib_destroyed();

#endif
