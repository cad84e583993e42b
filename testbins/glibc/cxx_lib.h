// libcxxthrow.so: C++ exceptions that cross the boundary between a shared
// library and the program, in both directions (see cxx_main.cc).
#ifndef GLIBC_CXX_LIB_H
#define GLIBC_CXX_LIB_H
#include <stdexcept>
#include <string>

namespace cxxlib {

// Defined (with its key function, hence its typeinfo) in the library: the
// program catches it by a typeinfo the loader resolved across objects.
class Error : public std::runtime_error {
public:
    Error(int code, const std::string &what);
    ~Error() override;
    int code() const noexcept;

private:
    int code_;
};

// Parses a decimal number; throws Error (bad input) or std::out_of_range.
int parse(const std::string &s);
// Throws the k-th kind of exception: a std::logic_error subclass, an int,
// a std::string, a nested exception.
void throw_kind(int k);
// Calls back into the program: an exception thrown there unwinds through
// this frame (whose guard object's destructor must run).
int call_through(int (*cb)(int), int x);
// Calls back and catches what the program throws, by the std::exception
// base and by catch (...), then rethrows the second time.
std::string catch_from(void (*cb)(int), int x);
// How many of the library's guard objects were destroyed (on return or
// while unwinding).
int unwound();

} // namespace cxxlib
#endif
